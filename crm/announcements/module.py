"""The announcements module: the bulletin board, read receipts and nudges.

The module's services as one namespace: ``services.announcements.<service>``."""

from __future__ import annotations

from dataclasses import dataclass

from crm.announcements.announcements import AnnouncementService
from crm.announcements.delivery import DeliveryService


@dataclass
class AnnouncementsServices:
    announcements: AnnouncementService
    delivery: DeliveryService
