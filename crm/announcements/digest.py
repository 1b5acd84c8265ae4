"""The managers' digest section "unread announcements": how many announcements people in the manager's staff
scope have not read yet, who has most, and how many announcements reached them in the period."""

from __future__ import annotations

from typing import Any

from crm.organisation.digest import DigestFigure, DigestPeriod, DigestRow, DigestSectionResult
from crm.organisation.permissions import Actor

TOP = 5


class UnreadAnnouncementsSection:
    name = "announcements"
    position = 80

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        scope = actor.scope_filter("staff")
        repo = uow.announcements.announcements
        total, people = await repo.unread_in_scope(scope, limit=TOP)
        published = await repo.published_between(scope, period.start, period.end)
        before = await repo.published_between(scope, previous.start, previous.end)
        rows = tuple(DigestRow(p.name, (DigestFigure("announcements.digest_unread_person", p.unread),))
                     for p in people)
        return DigestSectionResult(
            name=self.name, title_key="announcements.digest_title",
            figures=(DigestFigure("announcements.digest_unread", total),
                     DigestFigure("announcements.digest_published", published, before)),
            rows=rows)
