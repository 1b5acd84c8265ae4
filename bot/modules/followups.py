"""The follow-ups module: interactions logged, follow-ups planned, reminders, the morning agenda, nudges."""

from __future__ import annotations

from bot.module import Module, Wiring
from crm.followups.agenda import AgendaService
from crm.followups.digest import FollowUpsSection, InteractionsSection, InteractionsTrend
from crm.followups.followups import FollowUpService
from crm.followups.kpi import FollowUpsOnTimeKpi, InteractionsKpi, VisitsKpi
from crm.followups.module import FollowUpsServices
from crm.followups.nudges import NudgeService
from crm.followups.reminders import ReminderService
from crm.organisation.module import OrganisationServices
from crm.organisation.permissions import Actor, Scope
from handlers.core.menu import Command
from handlers.followups import agenda as agenda_chat
from handlers.followups import followups, team
from handlers.followups import nudges as nudges_chat
from scheduler.followups import agenda, nudges, reminders


def build(wiring: Wiring) -> FollowUpsServices:
    settings, uow, clock = wiring.settings, wiring.uow, wiring.clock
    organisation = wiring.need(OrganisationServices)
    organisation.digest_sections.add(InteractionsSection())
    organisation.digest_sections.add(FollowUpsSection())
    organisation.digest_trends.add(InteractionsTrend())
    for kpi in (InteractionsKpi(), VisitsKpi(), FollowUpsOnTimeKpi()):
        organisation.kpi_sources.add(kpi)
    return FollowUpsServices(
        followups=FollowUpService(uow, clock),
        reminders=ReminderService(uow, clock, default_locale=settings.default_locale,
                                  default_timezone=settings.default_timezone),
        agenda=AgendaService(uow, clock),
        nudges=NudgeService(uow, clock, default_timezone=settings.default_timezone),
    )


def sees_team(actor: Actor) -> bool:
    """/team lists everyone in the actor's follow-ups scope: for someone who sees only their own, just themselves."""
    return actor.scope("followups") is not Scope.OWN


MODULE = Module(
    name="followups",
    requires=("organisation", "customers", "segments"),
    build=build,
    operations=("followups.create", "followups.edit"),
    commands=(
        Command("log", "cmd.log", "followups.create"),
        Command("today", "cmd.today"),
        Command("agenda", "cmd.agenda"),
        Command("agendatime", "cmd.agendatime"),
        Command("team", "cmd.team", sees_team),
        Command("nudges", "segments.cmd_nudges", "customers.handover"),
    ),
    handlers=(followups.register, nudges_chat.register, agenda_chat.register, team.register),
    jobs=(reminders.register, agenda.register, nudges.register),
)
