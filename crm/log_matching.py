"""Who a one-message log is about: the first reading of the text that names someone the rep may see.

Uses the scope-safe customer search, so a customer outside the rep's scope is never matched, never offered and
never revealed; the rep is offered a new lead instead, as for any unknown name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crm.customer_model import SearchHit
from crm.customers import CustomerService
from crm.log_parser import Split
from crm.permissions import Actor
from crm.search_terms import fold

MAX_CHOICES = 8


@dataclass(frozen=True)
class TargetMatch:
    split: Split | None
    """The reading that matched (or, when nothing did, the one to create a lead from)."""
    hits: tuple[SearchHit, ...]

    @property
    def single(self) -> SearchHit | None:
        return self.hits[0] if len(self.hits) == 1 else None


def _same(a: str, b: str) -> bool:
    return fold(" ".join(a.split())) == fold(" ".join(b.split()))


async def match_target(customers: CustomerService, actor: Actor, splits: Sequence[Split],
                       fallback: Split | None) -> TargetMatch:
    """One good hit → it; several → all of them (the rep picks); none → no hits and ``fallback``."""
    for split in splits:
        page = await customers.search(actor, split.name)
        hits = page.hits
        if not hits:
            continue
        exact = [h for h in hits if _same(h.title, split.name)]
        if len(exact) == 1:
            return TargetMatch(split, (exact[0],))
        return TargetMatch(split, tuple(hits[:MAX_CHOICES]))
    return TargetMatch(fallback, ())


__all__ = ["TargetMatch", "match_target"]
