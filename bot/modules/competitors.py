"""The competitors module: the competitor archive, intel from the field, the competitors met on opportunities and
who won the lost ones (docs/competitors.md)."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.competitors import subscribers
from crm.competitors.competitors import CompetitorService
from crm.competitors.module import CompetitorsServices
from crm.organisation.permissions import Actor
from handlers.competitors import registration
from handlers.core.menu import Command
from scheduler.competitors import losses
from storage.competitors import tables
from storage.competitors.files import IntelFiles


def _reads(actor: Actor) -> bool:
    return CompetitorService.may_read(actor)


def build(wiring: Wiring) -> CompetitorsServices:
    return CompetitorsServices(competitors=CompetitorService(
        wiring.uow, wiring.clock, currency=wiring.settings.default_currency,
        files=IntelFiles(wiring.settings.data_dir / "intel")))


MODULE = Module(
    name="competitors",
    requires=("organisation", "customers", "segments", "followups", "messaging", "sales"),
    build=build,
    operations=("competitors.manage", "intel.create"),
    commands=(
        Command("intel", "competitors.cmd_intel", "intel.create"),
        Command("competitors", "competitors.cmd_competitors", _reads),
        Command("competitor", "competitors.cmd_competitor", _reads),
    ),
    handlers=(registration.register,),
    jobs=(losses.register,),
    tables=(tables.competitors, tables.competitor_products, tables.competitor_intel,
            tables.opportunity_competitors, tables.opportunity_losses),
    subscribe=subscribers.subscribe,
)
