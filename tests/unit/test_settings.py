"""Settings are validated at start with a message that names the bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "ADMIN_TELEGRAM_IDS", "DEFAULT_TIMEZONE", "DEFAULT_LOCALE",
                 "DEFAULT_CURRENCY", "DATA_DIR", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_give_a_runnable_console() -> None:
    settings = load_settings()
    assert settings.telegram_bot_token is None
    assert settings.db_url.startswith("sqlite+aiosqlite:///") and settings.db_url.endswith("data/crmbot.db")
    assert (settings.default_locale, settings.default_timezone, settings.default_currency) == ("en", "Asia/Taipei",
                                                                                              "TWD")


def test_values_are_parsed_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", " 11, 22;33 ")
    monkeypatch.setenv("DEFAULT_LOCALE", "zh-TW")
    monkeypatch.setenv("DEFAULT_CURRENCY", "usd")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    settings = load_settings()
    assert settings.admin_telegram_ids == frozenset({11, 22, 33})
    assert settings.default_locale == "zh-Hant" and settings.default_currency == "USD"
    assert "ABCDEFGHIJ" not in repr(settings)  # the token never shows up in a repr or a log line


def test_env_file_is_read(tmp_path: Path) -> None:
    with open(".env", "w", encoding="utf-8") as fh:
        fh.write("DEFAULT_TIMEZONE=Asia/Shanghai\nCOMPANY_NAME=大同貿易\n")
    settings = load_settings()
    assert settings.default_timezone == "Asia/Shanghai" and settings.company_name == "大同貿易"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("DEFAULT_TIMEZONE", "Mars/Base", "DEFAULT_TIMEZONE"),
    ("ADMIN_TELEGRAM_IDS", "alice,bob", "ADMIN_TELEGRAM_IDS"),
    ("DEFAULT_LOCALE", "klingon", "DEFAULT_LOCALE"),
    ("DEFAULT_CURRENCY", "dollars", "DEFAULT_CURRENCY"),
    ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN"),
    ("TELEGRAM_API_BASE_URL", "ftp://example", "TELEGRAM_API_BASE_URL"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
])
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert expected in str(err.value)
    assert value not in str(err.value) or name != "TELEGRAM_BOT_TOKEN"
