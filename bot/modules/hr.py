"""The HR module: staff records (profile, key events, timeline) and performance reviews against KPI targets, with
the measures other modules contribute (docs/hr.md).

Listed after every module that adds a KPI source (crm/organisation/kpi.py), before the digests."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.hr.module import HrServices
from crm.hr.records import HrRecordService
from crm.hr.reviews import ReviewService
from crm.organisation.module import OrganisationServices
from handlers.core.menu import Command
from handlers.hr import registration
from outbound.kpi_chart import MatplotlibTeamChart
from storage.hr import tables
from storage.hr.files import HrFiles
from storage.offloop import worker_beside


def build(wiring: Wiring) -> HrServices:
    organisation = wiring.need(OrganisationServices)
    return HrServices(
        records=HrRecordService(wiring.uow, wiring.clock, files=HrFiles(wiring.settings.data_dir / "hr"),
                                open_work=organisation.staff.open_work),
        reviews=ReviewService(wiring.uow, wiring.clock, sources=organisation.kpi_sources,
                              worker=worker_beside(wiring.uow, wiring.clock),  # a team's figures off the loop
                              chart=MatplotlibTeamChart(), default_timezone=wiring.settings.default_timezone),
    )


MODULE = Module(
    name="hr",
    requires=("organisation", "customers", "segments"),
    build=build,
    operations=("hr.view", "hr.manage", "reviews.manage"),
    commands=(
        Command("hr", "hr.cmd_hr"),
        Command("mykpi", "hr.cmd_mykpi"),
        Command("teamkpi", "hr.cmd_teamkpi", "reviews.manage"),
    ),
    handlers=(registration.register,),
    tables=(tables.staff_profiles, tables.hr_events, tables.kpi_targets, tables.reviews),
)
