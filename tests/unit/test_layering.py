"""Import contracts between the layers and between the business modules, checked from the source with ``ast``.

Every import counts: at module level, inside functions (the lazy imports that break import cycles at run time
still make a dependency) and under ``if TYPE_CHECKING:`` (a type named in a signature is a dependency too).

Layers: ``crm`` (pure Python), ``handlers`` (Telegram), ``views`` (rendering shared by handlers and scheduled
pushes), ``scheduler`` (jobs), ``storage`` (SQL), ``outbound`` (providers), ``bot`` (wiring and entry points).
Business modules, in every layer that has them: ``core`` ← ``organisation`` ← ``customers`` ← ``segments`` ←
``followups`` ← ``messaging`` (see ``MODULE_DEPENDS``).

Known debt is listed in ``ALLOWED``, each entry with its reason; an entry the code no longer needs fails the
suite, so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("crm", "bot", "handlers", "views", "scheduler", "storage", "outbound", "bench", "tools")

# Libraries that do I/O or belong to one adapter: the domain (crm/) must not know them.
IO_LIBRARIES = (
    "telegram", "sqlalchemy", "aiosqlite", "asyncpg", "alembic", "twilio", "aiosmtplib", "starlette", "uvicorn",
    "aiohttp", "httpx", "reportlab", "openpyxl", "prometheus_client",
)

# Which business modules each module may import, in the same layer (``core`` is every layer's shared part).
# The graph is acyclic (test_module_graph_is_acyclic): where a module shows or checks something of a module
# built on it (the customer card's sent messages, open work before a deactivation), the later module plugs in
# through an extension point (crm/core/extension.py) instead of being imported.
MODULE_DEPENDS: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "organisation": frozenset({"core"}),
    "customers": frozenset({"core", "organisation"}),
    "segments": frozenset({"core", "organisation", "customers"}),
    "fields": frozenset({"core", "organisation", "customers", "segments"}),
    "followups": frozenset({"core", "organisation", "customers", "segments"}),
    "messaging": frozenset({"core", "organisation", "customers", "segments", "followups"}),
    "sales": frozenset({"core", "organisation", "customers", "segments", "fields", "followups", "messaging"}),
    "orders": frozenset({"core", "organisation", "customers", "segments", "fields", "followups", "messaging",
                         "sales"}),
    "expenses": frozenset({"core", "organisation", "customers", "fields"}),
    "billing": frozenset({"core", "organisation", "customers", "segments", "followups", "messaging", "sales",
                          "orders"}),
    "contracts": frozenset({"core", "organisation", "customers", "segments", "followups"}),
    "announcements": frozenset({"core", "organisation"}),
    "service": frozenset({"core", "organisation", "customers", "segments", "fields", "followups", "messaging",
                          "sales", "orders"}),
    "competitors": frozenset({"core", "organisation", "customers", "segments", "followups", "messaging", "sales"}),
    "digests": frozenset({"core", "organisation"}),
    "hr": frozenset({"core", "organisation", "customers", "segments"}),
    "office": frozenset({"core", "organisation", "customers", "segments", "followups", "messaging", "sales",
                         "service"}),
}
MODULE_LAYERS = ("crm", "handlers", "views", "scheduler", "storage")

# What wires every module of a layer together: no module of that layer may import it back.
# (crm.unit_of_work also names every module's ports, but it is the contract the services are written against.)
COMPOSITION_ROOTS = frozenset({"crm.services", "handlers", "scheduler", "storage.uow"})


@dataclass(frozen=True)
class Rule:
    name: str
    sources: tuple[str, ...]  # dotted prefixes of the importing modules
    forbidden: tuple[str, ...]  # dotted prefixes of what they must not import


RULES = (
    Rule("crm/ is pure Python: no I/O library and no outer layer",
         ("crm",), (*IO_LIBRARIES, "bot", "handlers", "views", "scheduler", "storage", "outbound")),
    Rule("scheduled jobs and views do not depend on handlers", ("scheduler", "views"), ("handlers",)),
    Rule("views render text: no PTB application machinery, no storage, no jobs",
         ("views",), ("telegram.ext", "storage", "scheduler")),
    # outbound/telegram_send.py is the Telegram adapter that handlers (replies), jobs and the outbox's Telegram
    # channel (outbound/dispatch_telegram.py) all send through.
    Rule("storage and outbound are adapters: they know no handlers, jobs, views or bot wiring",
         ("storage", "outbound"), ("handlers", "scheduler", "views", "bot")),
    Rule("handlers reach the database only through crm services", ("handlers",), ("storage", "sqlalchemy")),
)

# (importing file, imported module) -> why it is tolerated for now.
ALLOWED: dict[tuple[str, str], str] = {}  # none today; a new entry needs its reason


@dataclass(frozen=True)
class Import:
    line: int
    statement: str  # as written, for the message
    target: str  # the dotted module (or package) it resolves to


@dataclass(frozen=True)
class Violation:
    path: str
    imp: Import
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.imp.line}: {self.imp.statement!r} ({self.imp.target}) breaks: {self.rule}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    for layer in LAYERS:
        yield from sorted(p for p in (ROOT / layer).rglob("*.py") if "__pycache__" not in p.parts)


def known_modules() -> frozenset[str]:
    return frozenset(module_name(p) for p in source_files())


def imports_of(source: str, module: str, *, is_package: bool, modules: frozenset[str]) -> list[Import]:
    """Every import in ``source``, resolved to absolute dotted names.

    ``from a.b import c`` resolves to ``a.b.c`` when that is a module of ours, else to ``a.b``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(node.lineno, f"import {alias.name}", alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                if node.level > 1:
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            dots = "." * node.level
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                target = candidate if candidate in modules else base
                found.append(Import(node.lineno, f"from {dots}{node.module or ''} import {alias.name}", target))
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _business_module(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) > 1 and parts[0] in MODULE_LAYERS and parts[1] in MODULE_DEPENDS:
        return parts[1]
    return None


def violations_in(path: str, module: str, imports: Iterable[Import],
                  depends: Mapping[str, frozenset[str]] = MODULE_DEPENDS) -> list[Violation]:
    found: list[Violation] = []
    own = _business_module(module)
    layer = module.split(".")[0]
    for imp in imports:
        for rule in RULES:
            if any(_within(module, s) for s in rule.sources) and any(_within(imp.target, f) for f in rule.forbidden):
                found.append(Violation(path, imp, rule.name))
        if own is None or not _within(imp.target, layer):
            continue
        if imp.target in COMPOSITION_ROOTS:
            found.append(Violation(path, imp, f"{layer}/{own}/ must not import {imp.target}, which wires every module"))
            continue
        theirs = _business_module(imp.target)
        if theirs is not None and theirs != own and theirs not in depends[own]:
            allowed = ", ".join(sorted(depends[own])) or "none"
            found.append(Violation(path, imp, f"{layer}/{own}/ may import only these {layer}/ modules: {allowed}"))
    return found


def all_violations() -> list[Violation]:
    modules = known_modules()
    found: list[Violation] = []
    for file in source_files():
        name = module_name(file)
        imports = imports_of(file.read_text(encoding="utf-8"), name, is_package=file.name == "__init__.py",
                             modules=modules)
        found += violations_in(file.relative_to(ROOT).as_posix(), name, imports)
    return found


def test_layers_and_modules_keep_their_import_contracts() -> None:
    broken = [v for v in all_violations() if (v.path, v.imp.target) not in ALLOWED]
    assert not broken, "import contracts broken:\n" + "\n".join(map(str, broken))


def test_every_allowed_exception_is_still_needed() -> None:
    needed = {(v.path, v.imp.target) for v in all_violations()}
    stale = [f"{path} -> {target}" for path, target in ALLOWED if (path, target) not in needed]
    assert not stale, "these imports are gone (or allowed by the rules now): remove them from ALLOWED:\n" + "\n".join(
        stale)


def test_module_graph_is_acyclic() -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, "cycle in MODULE_DEPENDS: " + " -> ".join((*path, name))
        if name in done:
            return
        for dep in MODULE_DEPENDS[name]:
            visit(dep, (*path, name))
        done.add(name)

    for name in MODULE_DEPENDS:
        visit(name, ())
    assert all(m == "core" or "core" in deps for m, deps in MODULE_DEPENDS.items())


def test_the_source_tree_is_seen() -> None:
    # A wrong ROOT or layer list would make every contract pass on nothing.
    modules = known_modules()
    assert {"crm.customers.model", "handlers.core.common", "storage.uow", "scheduler.followups.reminders"} <= modules
    imports = imports_of((ROOT / "crm/customers/customers.py").read_text(encoding="utf-8"),
                         "crm.customers.customers", is_package=False, modules=modules)
    assert "crm.core.extension" in {i.target for i in imports}


FAKE_MODULES = frozenset(
    {"crm.customers.model", "crm.services", "crm.messaging.outbox", "storage.tables", "handlers.core.common"})


@pytest.mark.parametrize(
    ("module", "source", "target", "rule_words"),
    [
        ("crm.customers.customers", "from sqlalchemy import select\n", "sqlalchemy", "pure Python"),
        # inside a function and under TYPE_CHECKING count as much as at the top
        ("crm.customers.customers", "def f():\n    import telegram.ext\n", "telegram.ext", "pure Python"),
        ("crm.customers.customers", "if TYPE_CHECKING:\n    from ..messaging.outbox import X\n",
         "crm.messaging.outbox", "crm/customers/ may import only these crm/ modules: core, organisation"),
        ("crm.customers.model", "from . import model\nfrom crm import services\n", "crm.services", "wires every"),
        ("scheduler.followups.reminders", "from handlers.core.common import truncate\n", "handlers.core.common",
         "do not depend on handlers"),
        ("views.followups.texts", "from telegram.ext import ContextTypes\n", "telegram.ext", "views render"),
        ("outbound.dispatch", "from bot.settings import Settings\n", "bot.settings", "adapters"),
        ("handlers.customers.search", "from storage import tables\n", "storage.tables", "only through crm"),
        ("handlers.organisation.staff", "from handlers.segments import handover\n", "handlers.segments",
         "handlers/organisation/ may import only these handlers/ modules: core"),
        ("storage.organisation.repositories", "from ..customers import repositories\n", "storage.customers",
         "storage/organisation/ may import only"),
    ],
)
def test_a_broken_contract_is_reported_with_file_import_and_rule(module: str, source: str, target: str,
                                                                 rule_words: str) -> None:
    path = module.replace(".", "/") + ".py"
    imports = imports_of(source, module, is_package=False, modules=FAKE_MODULES)
    found = violations_in(path, module, imports)
    assert [v.imp.target for v in found] == [target]
    message = str(found[0])
    assert message.startswith(f"{path}:")
    assert target in message
    assert rule_words in message


def test_allowed_imports_are_not_reported() -> None:
    source = (
        "from crm.core.clock import Clock\n"
        "from crm.organisation.permissions import Actor\n"
        "from crm.unit_of_work import UnitOfWork\n"
        "from .model import Customer\n"
        "import phonenumbers\n"
    )
    imports = imports_of(source, "crm.customers.customers", is_package=False, modules=FAKE_MODULES)
    assert {i.target for i in imports} == {"crm.core.clock", "crm.organisation.permissions", "crm.unit_of_work",
                                          "crm.customers.model", "phonenumbers"}
    assert violations_in("crm/customers/customers.py", "crm.customers.customers", imports) == []


def test_relative_imports_resolve_from_a_package() -> None:
    imports = imports_of("from .followups import agenda\nfrom .. import services\n", "crm.followups",
                         is_package=True, modules=frozenset({"crm.services"}))
    assert [i.target for i in imports] == ["crm.followups.followups", "crm.services"]
