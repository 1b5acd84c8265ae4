"""All settings, from the environment or `.env`, validated once at start with a message naming the bad one.

A small declarative loader rather than pydantic-settings: the bot's resident memory budget is 100 MiB, and
pydantic alone costs ~23 MiB of it for what is a flat list of strings, numbers and a few checks.
"""

from __future__ import annotations

import os
import re
import types
import typing
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from crm.core import locales


class SettingsError(Exception):
    """Raised with a human-readable explanation of which setting is wrong and why."""


@dataclass(frozen=True)
class Range:
    low: float
    high: float


SECRET = "secret"  # marker: never shown in repr or error messages


class Settings:
    telegram_bot_token: typing.Annotated[str | None, SECRET] = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_api_file_url: str = "https://api.telegram.org/file/bot"
    data_dir: Path = Path("./data")
    database_url: str | None = None
    admin_telegram_ids: frozenset[int] = frozenset()
    default_locale: str = locales.EN
    zh_script: Literal["zh-Hant", "zh-Hans"] = "zh-Hant"
    default_timezone: str = "Asia/Taipei"
    default_currency: str = "TWD"
    default_phone_region: str = "TW"
    company_name: str = "Company"
    # Sender block on envelopes: lines separated by "|" (or a literal "\n").
    company_address: str = ""
    # SMS programme (subscriptions): localised texts are "English|繁體|简体", or one text for all three.
    sms_quiet_hours: str = "21:00-08:00"
    sms_program_name: str = ""
    sms_support_contact: str = ""
    sms_frequency_text: str = "Msg frequency varies|訊息頻率不定|消息频率不定"
    sms_segment_price: str = "0.0079 USD"
    invite_ttl_hours: typing.Annotated[int, Range(1, 24 * 90)] = 168
    # A guided flow or question left unanswered this long ends quietly; the next message is treated as new.
    flow_timeout_minutes: typing.Annotated[int, Range(1, 24 * 60)] = 30
    # An open opportunity unchanged this many days nudges its owner (0: never).
    stale_opportunity_days: typing.Annotated[int, Range(0, 365)] = 14
    # Next year's expense budget proposal: this year's actual spending grown by this many percent.
    budget_growth_percent: typing.Annotated[int, Range(-100, 1000)] = 10
    # Quotation numbers are <prefix><year>-<0001>.
    quote_prefix: str = "Q"
    # Order numbers are <prefix><year>-<0001>.
    order_prefix: str = "O"
    # Invoice numbers are <prefix><year>-<0001>; an invoice is due this many days after it is issued unless the
    # customer has payment terms of their own (/terms on the customer's invoices).
    invoice_prefix: str = "INV"
    payment_terms_days: typing.Annotated[int, Range(0, 365)] = 30
    # An unpaid overdue invoice is pushed to its owner again this many days after the last push (0: only once).
    overdue_repeat_days: typing.Annotated[int, Range(0, 90)] = 7
    # Contract numbers are <prefix><year>-<0001>.
    contract_prefix: str = "C"
    # Service tickets: working hours per severity before a ticket is due, and the hours that count (company zone).
    service_sla_hours: str = "urgent=4,high=8,normal=24,low=72"
    service_hours: str = "mon-fri 09:00-18:00"
    # How often due reminders are looked for (seconds); the database rows are the truth, this is only latency.
    reminder_tick_seconds: typing.Annotated[float, Range(0.5, 300)] = 5
    # Announcements: a reader who has not pressed "Got it" this many hours after delivery is nudged once, at a
    # working hour in their time zone (docs/announcements.md).
    announcement_nudge_hours: typing.Annotated[int, Range(1, 24 * 30)] = 24
    # ---- outbound messages (outbox) and the HTTP endpoint ----
    twilio_account_sid: str | None = None
    twilio_auth_token: typing.Annotated[str | None, SECRET] = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None  # a Twilio-compatible provider; default api.twilio.com
    smtp_host: str | None = None
    smtp_port: typing.Annotated[int | None, Range(1, 65535)] = None
    smtp_username: str | None = None
    smtp_password: typing.Annotated[str | None, SECRET] = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    mail_from: str | None = None
    fax_gateway: Literal["", "email", "http"] = ""
    fax_email_template: str | None = None
    fax_http_url: str | None = None
    fax_http_token: typing.Annotated[str | None, SECRET] = None
    sms_max_per_second: typing.Annotated[float, Range(0, 1000)] = 1.0
    email_max_per_second: typing.Annotated[float, Range(0, 1000)] = 5.0
    fax_max_per_second: typing.Annotated[float, Range(0, 100)] = 1.0
    telegram_max_per_second: typing.Annotated[float, Range(0, 30)] = 25.0
    outbox_lease_seconds: typing.Annotated[float, Range(1, 3600)] = 120
    outbox_max_attempts: typing.Annotated[int, Range(1, 50)] = 8
    outbox_tick_seconds: typing.Annotated[float, Range(0.1, 60)] = 1.0
    http_host: str = "127.0.0.1"
    http_port: typing.Annotated[int, Range(0, 65535)] = 8080
    public_base_url: str | None = None  # how Telegram and Twilio reach HTTP_HOST:HTTP_PORT, e.g. https://crm.example.com
    telegram_webhook: bool = False
    webhook_secret: typing.Annotated[str | None, SECRET] = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    def __init__(self, _env_file: str | Path | None = ".env", **overrides: Any) -> None:
        """Read defaults, then `.env` (if given), then the environment, then ``overrides``; validate all."""
        fields = _fields()
        unknown = set(overrides) - set(fields)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        raw: dict[str, Any] = {}
        if _env_file is not None:
            raw.update(_read_env_file(Path(_env_file), fields))
        for name in fields:
            if name.upper() in os.environ:
                raw[name] = os.environ[name.upper()]
        raw.update(overrides)
        errors: list[str] = []
        for name, spec in fields.items():
            try:
                value = spec.convert(raw[name]) if name in raw else spec.default
                check = _CHECKS.get(name)
                if check is not None:
                    value = check(value)
            except (ValueError, TypeError) as exc:
                errors.append(f"  {name.upper()}: {exc}")
                continue
            object.__setattr__(self, name, value)
        if not errors:
            try:
                self._check_together()
            except ValueError as exc:
                errors.append(f"  {exc}")
        if errors:
            raise SettingsError("Invalid settings (environment or .env):\n" + "\n".join(errors))

    def _check_together(self) -> None:
        if self.webhook_secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.webhook_secret):
            raise ValueError("WEBHOOK_SECRET: must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if self.telegram_webhook and not (self.webhook_secret and self.public_base_url):
            raise ValueError("TELEGRAM_WEBHOOK: needs WEBHOOK_SECRET and PUBLIC_BASE_URL")
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'crmbot.db').as_posix()}"

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed, validated like the original."""
        current = {name: getattr(self, name) for name in _fields()}
        return Settings(_env_file=None, **{**current, **changes}) if changes else self

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name, spec in _fields().items() if not spec.secret)
        return f"Settings({shown})"


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


# ---- the loader ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    default: Any
    convert: Callable[[Any], Any]
    secret: bool


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _converter(hint: Any) -> tuple[Callable[[Any], Any], bool]:
    secret = False
    bounds: Range | None = None
    if typing.get_origin(hint) is typing.Annotated:
        hint, *extras = typing.get_args(hint)
        secret = SECRET in extras
        bounds = next((e for e in extras if isinstance(e, Range)), None)
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional, hint = True, args[0]

    def base(value: Any) -> Any:
        if typing.get_origin(hint) is Literal:
            choices = typing.get_args(hint)
            if value not in choices:
                raise ValueError(f"must be one of {', '.join(repr(c) for c in choices)}")
            return value
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError("must be 1/0, true/false, yes/no or on/off")
        if hint in (int, float):
            try:
                number = hint(value.strip() if isinstance(value, str) else value)
            except (TypeError, ValueError):
                raise ValueError(f"must be a number{' (whole)' if hint is int else ''}") from None
            if bounds is not None and not bounds.low <= number <= bounds.high:
                raise ValueError(f"must be between {bounds.low:g} and {bounds.high:g}")
            return number
        if hint is Path:
            return Path(value)
        if typing.get_origin(hint) is frozenset:
            return _ids(value)
        if not isinstance(value, str):
            raise TypeError(f"must be text, not {type(value).__name__}")
        return value

    def convert(value: Any) -> Any:
        if optional and (value is None or (isinstance(value, str) and not value.strip())):
            return None
        return base(value)

    return convert, secret


_FIELDS: dict[str, _Field] = {}


def _fields() -> dict[str, _Field]:
    if not _FIELDS:
        hints = typing.get_type_hints(Settings, include_extras=True)
        for name, hint in hints.items():
            convert, secret = _converter(hint)
            _FIELDS[name] = _Field(getattr(Settings, name), convert, secret)
    return _FIELDS


def _read_env_file(path: Path, fields: Mapping[str, _Field]) -> dict[str, str]:
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key, value = key.strip().lower(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if key in fields:
            values[key] = value
    return values


# ---- checks of single values ------------------------------------------------------------------------------


def _ids(value: object) -> frozenset[int]:
    if isinstance(value, int):
        return frozenset({value})
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        try:
            return frozenset(int(p) for p in parts)
        except ValueError:
            raise ValueError("must be comma-separated numeric Telegram user ids") from None
    if isinstance(value, frozenset | set | list | tuple) and all(isinstance(v, int) for v in value):
        return frozenset(value)
    raise ValueError("must be comma-separated numeric Telegram user ids")


def _locale(value: str) -> str:
    normalized = locales.normalize(value, default="")
    if not normalized:
        raise ValueError(f"must be one of {', '.join(locales.SUPPORTED)}")
    return normalized


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Taipei)") from None
    return value


def _currency(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise ValueError("must be a three-letter ISO 4217 code such as TWD")
    return value


def _quiet_hours(value: str) -> str:
    from crm.messaging.quiet_hours import QuietHours

    return str(QuietHours.parse(value))


def _segment_price(value: str) -> str:
    from crm.messaging.subscriptions import parse_price

    parse_price(value)
    return value.strip()


def _sla_hours(value: str) -> str:
    from crm.service.sla import parse_sla

    parse_sla(value)
    return value.strip()


def _service_hours(value: str) -> str:
    from crm.service.sla import WorkingHours

    WorkingHours.parse(value, "UTC")
    return value.strip()


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


def _optional_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return _url(value.strip().rstrip("/"))


def _token(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    head, _, tail = value.partition(":")
    if not head.isdigit() or len(tail) < 20:
        raise ValueError("does not look like a bot token from @BotFather (digits:secret)")
    return value


def _empty_to_none(value: str | None) -> str | None:
    return value if value else None


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "default_locale": _locale,
    "default_timezone": _timezone,
    "default_currency": _currency,
    "sms_quiet_hours": _quiet_hours,
    "sms_segment_price": _segment_price,
    "service_sla_hours": _sla_hours,
    "service_hours": _service_hours,
    "telegram_api_base_url": _url,
    "telegram_api_file_url": _url,
    "telegram_bot_token": _token,
    "public_base_url": _optional_url,
    "twilio_api_base_url": _optional_url,
    "fax_http_url": _optional_url,
    "webhook_secret": _empty_to_none,
}
