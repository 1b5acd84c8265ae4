"""The module registry and the typed places a module is also named in agree (docs/architecture.md, "Adding a
module"): a module missing from one of them fails here, naming the place, rather than at run time."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from bot.module import Module
from bot.modules import MODULES, check_order, commands
from crm.organisation.permissions import OPERATIONS, operation_area
from crm.services import Services
from storage import tables
from storage.uow import SqlUnitOfWork
from tests.unit.test_layering import MODULE_DEPENDS

NAMES = [module.name for module in MODULES]
# Areas of the permission catalogue whose modules are not built yet: their operations are already grantable so
# companies can shape roles ahead of them.
FUTURE_AREAS = {"analytics", "sales"}


def test_every_module_has_a_typed_services_field_and_nothing_else_does() -> None:
    fields = [f.name for f in dataclasses.fields(Services) if f.name not in ("uow", "clock")]
    assert fields == NAMES, "crm/services.py: one field per registered module, in the registry's order"


@pytest.mark.parametrize("name", NAMES)
def test_every_module_has_its_repository_group_on_the_unit_of_work(name: str) -> None:
    try:
        importlib.import_module(f"storage.{name}.group")
    except ModuleNotFoundError:
        return  # a module without tables of its own
    assert isinstance(getattr(SqlUnitOfWork, name, None), property), f"storage/uow.py: add the {name!r} group"


def test_modules_come_after_what_they_require_and_the_layering_graph_agrees() -> None:
    check_order()
    for module in MODULES:
        assert set(module.requires) | {"core"} == set(MODULE_DEPENDS[module.name]) - {module.name}, (
            f"tests/unit/test_layering.py MODULE_DEPENDS[{module.name!r}] and the module's requires differ")


def test_a_module_out_of_order_is_refused() -> None:
    first, second = MODULES[0], MODULES[1]
    with pytest.raises(ValueError, match="must come earlier"):
        check_order((second, first))
    with pytest.raises(ValueError, match="twice"):
        check_order((first, first))


def test_every_operation_belongs_to_exactly_one_module_or_a_future_area() -> None:
    owners: dict[str, str] = {}
    for module in MODULES:
        for operation in module.operations:
            assert operation in OPERATIONS, f"{module.name}: {operation!r} is not in the permission catalogue"
            assert operation not in owners, f"{operation!r} is claimed by {owners[operation]} and {module.name}"
            owners[operation] = module.name
    unowned = [op for op in OPERATIONS if op not in owners and operation_area(op) not in FUTURE_AREAS]
    assert not unowned, f"operations no module declares: {unowned}"


def test_every_table_is_declared_by_one_module_and_in_the_schema() -> None:
    declared = [table.name for module in MODULES for table in module.tables]
    assert len(declared) == len(set(declared))
    # every module's: storage/core_tables.py, and the updates stored before they are handled
    shared = {"ptb_conversations", "ptb_data", "app_kv", "inbound_updates"}
    assert set(declared) | shared == set(tables.metadata.tables)


def test_commands_are_unique_and_cancel_comes_last() -> None:
    names = [command.name for command in commands()]
    assert len(names) == len(set(names))
    assert names[-1] == "cancel"


def test_a_module_declaration_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MODULES[0].name = "x"  # type: ignore[misc]  # the point of the test
    assert all(isinstance(module, Module) for module in MODULES)
