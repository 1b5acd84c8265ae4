"""The segments module: saved customer filters, and handing a person's customers over to someone else."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.organisation.module import OrganisationServices
from crm.segments.handover import HandoverService, OwnedOpenWork
from crm.segments.module import SegmentsServices
from crm.segments.segments import SegmentService
from handlers.core.menu import Command
from handlers.segments import segments
from storage.segments import tables


def build(wiring: Wiring) -> SegmentsServices:
    # Nobody is deactivated while they still own customers, leads or follow-ups: those are handed over first.
    wiring.need(OrganisationServices).staff.open_work.add(OwnedOpenWork())
    return SegmentsServices(
        segments=SegmentService(wiring.uow, wiring.clock),
        handover=HandoverService(wiring.uow, wiring.clock),
    )


MODULE = Module(
    name="segments",
    requires=("organisation", "customers"),
    build=build,
    operations=("customers.handover",),
    commands=(
        Command("segments", "segments.cmd_segments", "customers.view"),
        Command("handover", "segments.cmd_handover", "customers.handover"),
    ),
    handlers=(segments.register,),
    tables=(tables.segments,),
)
