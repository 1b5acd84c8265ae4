"""The log redaction filter (bot/log_redaction.py): configured secrets and secret-shaped text out of every record
written through the root logger's handlers, from any logger, in messages, arguments and tracebacks; each record's
size capped."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.log_redaction import MASK, MAX_MESSAGE, RedactingFilter, install, secret_values
from bot.settings import Settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ"
WEBHOOK = "hook_secret-value-1234"
SMTP = "p@ss w0rd/with:odd chars"


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """Logging configured as `crmbot` does it, writing into a buffer; the filter installed from settings."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved_level, saved_handlers = root.level, root.handlers[:]
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN, webhook_secret=WEBHOOK, smtp_password=SMTP,
                        fax_http_token="fax-token-abcdef", twilio_auth_token="twilio-token-abcdef")
    install(settings)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_secret_values_are_the_settings_marked_secret() -> None:
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN, webhook_secret=WEBHOOK, smtp_password=SMTP,
                        fax_http_token="fax-token-abcdef", twilio_auth_token="twilio-token-abcdef",
                        twilio_account_sid="AC123", company_name="Acme")
    assert sorted(secret_values(settings)) == sorted([TOKEN, WEBHOOK, SMTP, "fax-token-abcdef",
                                                      "twilio-token-abcdef"])


def test_child_loggers_arguments_and_encodings_are_redacted(written: io.StringIO) -> None:
    logging.getLogger("telegram.ext.ExtBot").debug("Set Bot API URL: %s", f"https://api.telegram.org/bot{TOKEN}")
    logging.getLogger("telegram.ext.ExtBot").debug("Calling setWebhook with parameters %s",
                                                   {"url": "https://x", "secret_token": WEBHOOK})
    logging.getLogger("some.library").info("smtp login %s", SMTP.replace(" ", "%20").replace("/", "%2F")
                                           .replace(":", "%3A").replace("@", "%40"))
    logging.getLogger("x").warning("token %s", TOKEN.replace(":", "%3A"))
    text = written.getvalue()
    for secret in (TOKEN, TOKEN.split(":")[1], WEBHOOK, SMTP, "p%40ss%20w0rd"):
        assert secret not in text
    assert text.count(MASK) == 4


def test_secret_shapes_are_redacted_without_configuration() -> None:
    redact = RedactingFilter().redact
    assert "AAHdqTcv" not in redact(f"https://api.telegram.org/bot{TOKEN}/getMe")
    assert redact("headers: Authorization: Bearer abc.def.ghi, x") == f"headers: Authorization: {MASK}, x"
    assert redact("{'authorization': 'Basic dXNlcjpwYXNz'}") == f"{{'authorization': '{MASK}'}}"
    assert redact("connect password=hunter2 host=db") == f"connect password={MASK} host=db"
    assert redact("postgresql+asyncpg://crm:hunter2@db:5432/crm") == f"postgresql+asyncpg://crm:{MASK}@db:5432/crm"
    assert redact("an ordinary line, 42 customers") == "an ordinary line, 42 customers"


def test_exception_text_is_redacted(written: io.StringIO) -> None:
    reason = f"could not connect with {WEBHOOK} and password=" + "hunter" + "2"
    try:
        raise RuntimeError(reason)
    except RuntimeError:
        logging.getLogger("deep.child.logger").exception("failed")
    text = written.getvalue()
    assert "RuntimeError" in text and "Traceback" in text
    assert WEBHOOK not in text and "hunter2" not in text


def test_a_huge_message_is_cut(written: io.StringIO) -> None:
    update = "{" + '"text": "customer data", ' * 100_000 + "}"
    logging.getLogger("telegram.ext.Application").debug("Processing update %s", update)
    line = written.getvalue().rstrip("\n")
    assert len(line) < MAX_MESSAGE + 100
    assert line.endswith(f"… ({len('Processing update ' + update) - MAX_MESSAGE:,} more characters)")


def test_a_secret_at_the_cut_is_not_left_half_shown() -> None:
    message = "x" * (MAX_MESSAGE - 10) + WEBHOOK + "y" * 10_000
    record = logging.LogRecord("x", logging.INFO, __file__, 1, message, None, None)
    RedactingFilter([WEBHOOK]).filter(record)
    assert WEBHOOK[:10] not in str(record.msg)


def test_a_filter_on_the_root_logger_would_not_do() -> None:
    """Why the filter sits on the handlers: the root logger's own filters never see a child logger's records."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redacting = RedactingFilter([WEBHOOK])
    root.addHandler(handler)
    root.addFilter(redacting)
    try:
        logging.getLogger("child").warning("secret %s", WEBHOOK)
    finally:
        root.removeFilter(redacting)
        root.removeHandler(handler)
    assert WEBHOOK in stream.getvalue()
