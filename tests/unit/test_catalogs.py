"""Every message key used anywhere exists in all three catalogs, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.i18n import Catalogs, placeholders
from crm.core import locales
from crm.organisation.permissions import OPERATIONS, SCOPE_AREAS, Scope, operation_area

ROOT = Path(__file__).resolve().parents[2]
# t("key" / context.t("key" / DomainError("key" / raise X("key" / key = "key"
_KEY_RE = re.compile(
    r"""(?:\bt\(\s*|Error\(\s*|Denied\(\s*|Found\(\s*|Failed\(\s*|Conflict\(\s*|key = )"([a-z_]+\.[a-z_.]+)\""""
)


def _keys_in_code() -> set[str]:
    keys: set[str] = set()
    for folder in ("bot", "handlers", "views", "crm", "scheduler", "outbound"):
        for path in (ROOT / folder).rglob("*.py"):
            keys.update(_KEY_RE.findall(path.read_text(encoding="utf-8")))
    return keys


def _generated_keys() -> set[str]:
    keys = {f"perm.{op}" for op in OPERATIONS}
    keys |= {f"area.{area}" for area in SCOPE_AREAS} | {f"area.{operation_area(op)}" for op in OPERATIONS}
    keys |= {f"scope.{s.value}" for s in Scope}
    keys |= {f"role.{name}" for name in ("admin", "manager", "rep", "reviewer", "finance")}
    return keys


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


def test_every_key_used_in_code_is_in_every_catalog(catalogs: Catalogs) -> None:
    used = _keys_in_code() | _generated_keys()
    assert len(used) > 100
    for locale in locales.SUPPORTED:
        missing = sorted(k for k in used if not catalogs.has(locale, k))
        assert not missing, f"{locale} lacks {missing}"


def test_catalogs_have_the_same_keys_and_placeholders(catalogs: Catalogs) -> None:
    english = catalogs.messages[locales.EN]
    for locale in (locales.ZH_HANT, locales.ZH_HANS):
        other = catalogs.messages[locale]
        assert set(other) == set(english), set(other) ^ set(english)
        for key, text in english.items():
            assert placeholders(other[key]) == placeholders(text), (locale, key)


def test_placeholders_are_escaped(catalogs: Catalogs) -> None:
    text = catalogs.t(locales.EN, "roles.created", name="<b>x</b> & y")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in text


def test_the_bots_po_reader_reads_what_babel_reads() -> None:
    """bot/i18n.read_messages stands in for Babel at run time: same entries, same texts, for every catalog."""
    from babel.messages.pofile import read_po

    from bot.i18n import LOCALE_DIR, read_messages

    files = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
    assert len(files) >= 30
    for path in files:
        with path.open("rb") as fh:
            babel = [(str(m.id), str(m.string)) for m in read_po(fh) if m.id and m.string and not m.fuzzy]
        assert read_messages(path.read_text(encoding="utf-8")) == babel, path


def test_the_po_reader_handles_escapes_continuations_and_fuzzy_entries() -> None:
    from bot.i18n import read_messages

    text = '''# comment
#, fuzzy
msgid ""
msgstr "Header: x\\n"

#: somewhere
msgid "a.key"
msgstr ""
"line one\\n"
"say \\"hi\\" \\\\ done"

#, fuzzy, python-format
msgid "b.key"
msgstr "not yet"
msgid "c.key"
msgstr ""
'''
    assert read_messages(text) == [("a.key", 'line one\nsay "hi" \\ done')]
    with pytest.raises(ValueError):
        read_messages('msgid "x"\nmsgstr "y"\nnot a po line\n')
