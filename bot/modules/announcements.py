"""The announcements module: the bulletin board (/announce, /board), read receipts, nudges, and the digest's
"unread announcements" section."""

from __future__ import annotations

from datetime import timedelta

from bot.module import Module, Wiring
from crm.announcements.announcements import AnnouncementService
from crm.announcements.delivery import DeliveryService
from crm.announcements.digest import UnreadAnnouncementsSection
from crm.announcements.module import AnnouncementsServices
from crm.organisation.module import OrganisationServices
from handlers.announcements import registration
from handlers.core.menu import Command
from scheduler.announcements import delivery
from storage.announcements import tables


def build(wiring: Wiring) -> AnnouncementsServices:
    settings = wiring.settings
    wiring.need(OrganisationServices).digest_sections.add(UnreadAnnouncementsSection())
    return AnnouncementsServices(
        announcements=AnnouncementService(wiring.uow, wiring.clock),
        delivery=DeliveryService(wiring.uow, wiring.clock,
                                 nudge_after=timedelta(hours=settings.announcement_nudge_hours),
                                 default_timezone=settings.default_timezone))


MODULE = Module(
    name="announcements",
    requires=("organisation",),
    build=build,
    operations=("announcements.publish",),
    commands=(
        Command("board", "announcements.cmd_board", None),
        Command("announce", "announcements.cmd_announce", "announcements.publish"),
    ),
    handlers=(registration.register,),
    jobs=(delivery.register,),
    tables=(tables.announcements, tables.announcement_recipients),
)
