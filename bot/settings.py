"""All settings, from the environment or `.env`, validated once at start with a message naming the bad one."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from crm import locales


class SettingsError(Exception):
    """Raised with a human-readable explanation of which setting is wrong and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = Field(default=None, repr=False)
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_api_file_url: str = "https://api.telegram.org/file/bot"
    data_dir: Path = Path("./data")
    database_url: str | None = None
    admin_telegram_ids: Annotated[frozenset[int], NoDecode] = frozenset()
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
    invite_ttl_hours: int = Field(default=168, ge=1, le=24 * 90)
    # How often due reminders are looked for (seconds); the database rows are the truth, this is only latency.
    reminder_tick_seconds: float = Field(default=5, ge=0.5, le=300)
    # ---- outbound messages (outbox) and the HTTP endpoint ----
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = Field(default=None, repr=False)
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None  # a Twilio-compatible provider; default api.twilio.com
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    mail_from: str | None = None
    fax_gateway: Literal["", "email", "http"] = ""
    fax_email_template: str | None = None
    fax_http_url: str | None = None
    fax_http_token: str | None = Field(default=None, repr=False)
    sms_max_per_second: float = Field(default=1.0, ge=0, le=1000)
    email_max_per_second: float = Field(default=5.0, ge=0, le=1000)
    fax_max_per_second: float = Field(default=1.0, ge=0, le=100)
    telegram_max_per_second: float = Field(default=25.0, ge=0, le=30)
    outbox_lease_seconds: float = Field(default=120, ge=1, le=3600)
    outbox_max_attempts: int = Field(default=8, ge=1, le=50)
    outbox_tick_seconds: float = Field(default=1.0, ge=0.1, le=60)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    public_base_url: str | None = None  # how Telegram and Twilio reach HTTP_HOST:HTTP_PORT, e.g. https://crm.example.com
    telegram_webhook: bool = False
    webhook_secret: str | None = Field(default=None, repr=False)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError as exc:
                raise ValueError("must be comma-separated numeric Telegram user ids") from exc
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        normalized = locales.normalize(value, default="")
        if not normalized:
            raise ValueError(f"must be one of {', '.join(locales.SUPPORTED)}")
        return normalized

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Taipei)") from exc
        return value

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 3 or not value.isalpha():
            raise ValueError("must be a three-letter ISO 4217 code such as TWD")
        return value

    @field_validator("sms_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        from crm.quiet_hours import QuietHours

        return str(QuietHours.parse(value))

    @field_validator("sms_segment_price")
    @classmethod
    def _segment_price(cls, value: str) -> str:
        from crm.subscriptions import parse_price

        parse_price(value)
        return value.strip()

    @field_validator("telegram_api_base_url", "telegram_api_file_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        head, _, tail = value.partition(":")
        if not head.isdigit() or len(tail) < 20:
            raise ValueError("does not look like a bot token from @BotFather (digits:secret)")
        return value

    @field_validator("smtp_port", mode="before")
    @classmethod
    def _empty_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_base_url", "twilio_api_base_url", "fax_http_url")
    @classmethod
    def _optional_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _webhook(self) -> Settings:
        import re

        if not self.webhook_secret:
            self.webhook_secret = None
        if self.webhook_secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.webhook_secret):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        if self.telegram_webhook and not (self.webhook_secret and self.public_base_url):
            raise ValueError("TELEGRAM_WEBHOOK=1 needs WEBHOOK_SECRET and PUBLIC_BASE_URL")
        return self

    @model_validator(mode="after")
    def _database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'crmbot.db').as_posix()}"
        return self

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            lines.append(f"  {name}: {err['msg']}")
        raise SettingsError("Invalid settings (environment or .env):\n" + "\n".join(lines)) from None
