"""The digests module: managers' daily, weekly or monthly digests of their scope (docs/digests.md).

Listed last in the registry: the sections and trend lines are added by the modules before it."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.digests.digests import DigestService
from crm.digests.module import DigestsServices
from crm.organisation.module import OrganisationServices
from handlers.core.menu import Command
from handlers.digests import digests as chat
from outbound.digest_chart import MatplotlibTrendChart
from scheduler.digests import digests as job
from storage.digests import tables
from storage.offloop import worker_beside


def build(wiring: Wiring) -> DigestsServices:
    organisation = wiring.need(OrganisationServices)
    return DigestsServices(digests=DigestService(
        wiring.uow, wiring.clock, sections=organisation.digest_sections, trends=organisation.digest_trends,
        worker=worker_beside(wiring.uow, wiring.clock),  # every section's queries, and the chart, off the loop
        chart=MatplotlibTrendChart(), default_timezone=wiring.settings.default_timezone))


MODULE = Module(
    name="digests",
    requires=("organisation",),
    build=build,
    operations=("digests.receive",),
    commands=(Command("digest", "digests.cmd_digest", "digests.receive"),),
    handlers=(chat.register,),
    jobs=(job.register,),
    tables=(tables.digest_settings, tables.digest_sends),
)
