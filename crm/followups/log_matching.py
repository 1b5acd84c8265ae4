"""Who a one-message log is about: the first reading of the text that names someone the rep may see.

Uses the scope-safe customer lookups, so a customer outside the rep's scope is never matched, never offered and
never revealed; the rep is offered a new lead instead, as for any unknown name.

Most logs name a customer exactly as it is stored ("台中化工物流有限公司 拜訪…", "Acme Trading Co. called"), so
every reading is first looked up as a whole name, all in one indexed query; the longest reading that is someone's
exact name wins, unless a longer reading begins someone's name ("Acme Tradin called": Acme Trading Co., not a
customer called "Acme"), one more indexed query. Only when no reading is anyone's exact name does each reading go
through the fuzzy search, most specific first — the slow path, since a reading that still holds words of the log
("Acme met the") must be searched in vain before the shorter one is tried. Both lookups also try a person's name
in its other orders (王小明 typed as 小明王 or "小明 王"; crm.core.names.name_orders).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crm.core.names import name_orders
from crm.customers.customers import CustomerService
from crm.customers.model import SearchHit
from crm.customers.search_terms import fold
from crm.followups.log_parser import Split
from crm.organisation.permissions import Actor

MAX_CHOICES = 8


@dataclass(frozen=True)
class TargetMatch:
    split: Split | None
    """The reading that matched (or, when nothing did, the one to create a lead from)."""
    hits: tuple[SearchHit, ...]

    @property
    def single(self) -> SearchHit | None:
        return self.hits[0] if len(self.hits) == 1 else None


def _same(title: str, name: str) -> bool:
    """Whether a record's title is the typed name, also when a person's name was typed in another order."""
    folded = fold(title)
    return any(folded == fold(typed) for typed in (name, *name_orders(name)))


async def match_target(customers: CustomerService, actor: Actor, splits: Sequence[Split],
                       fallback: Split | None) -> TargetMatch:
    """One good hit → it; several → all of them (the rep picks); none → no hits and ``fallback``."""
    named = await customers.named(actor, [split.name for split in splits], limit=MAX_CHOICES)
    exact = next((i for i, split in enumerate(splits) if split.name in named), None)
    if exact is not None:
        # "Acme Tradin called" names Acme Trading Co. rather than a customer called just "Acme": a longer
        # reading that starts someone's name beats a shorter exact one.
        longer = splits[:exact]
        started = await customers.named(actor, [s.name for s in longer], limit=MAX_CHOICES, starting=True)
        for split in longer:
            if split.name in started:
                return _pick(split, started[split.name])
        return _pick(splits[exact], named[splits[exact].name])
    for split in splits:
        page = await customers.search(actor, split.name)
        if page.hits:
            return _pick(split, page.hits)
    return TargetMatch(fallback, ())


def _pick(split: Split, hits: Sequence[SearchHit]) -> TargetMatch:
    exact = [h for h in hits if _same(h.title, split.name)]
    if len(exact) == 1:
        return TargetMatch(split, (exact[0],))
    return TargetMatch(split, tuple(hits[:MAX_CHOICES]))


__all__ = ["TargetMatch", "match_target"]
