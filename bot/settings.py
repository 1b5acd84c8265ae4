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
    invite_ttl_hours: int = Field(default=168, ge=1, le=24 * 90)
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
