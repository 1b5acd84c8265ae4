"""The sales module's part of a manager's digest (crm/organisation/digest.py): the open pipeline by stage — how
many opportunities and their weighted value (amount × the stage's probability) per currency — within the manager's
``sales`` scope. The pipeline is a state, not a flow: it is read as it stands, with no "before" beside it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crm.organisation.digest import DigestFigure, DigestPeriod, DigestRow, DigestSectionResult
from crm.organisation.permissions import Actor
from crm.sales.opportunities import open_ids, stages_of
from crm.sales.ports import SalesUnitOfWork

CENT = Decimal("0.01")


class PipelineDigestSection:
    name = "sales.pipeline"
    position = 40

    async def compute(self, uow: Any, actor: Actor, period: DigestPeriod,
                      previous: DigestPeriod) -> DigestSectionResult | None:
        if not actor.can("sales.view"):
            return None
        work: SalesUnitOfWork = uow
        stages = [s for s in await stages_of(work) if s.is_open]
        sums = await work.sales.opportunities.stage_sums(actor.scope_filter("sales"), open_ids(stages))
        counts: dict[int, int] = {}
        weighted: dict[tuple[int, str], Decimal] = {}
        probability = {s.id: s.probability for s in stages}
        for stage_id, currency, count, amount in sums:
            counts[stage_id] = counts.get(stage_id, 0) + count
            weighted[(stage_id, currency)] = (amount * probability[stage_id] / 100).quantize(CENT)
        figures = [DigestFigure("sales.digest_open", sum(counts.values()))]
        for currency in sorted({c for _, c in weighted}):
            figures.append(DigestFigure("sales.digest_weighted", sum(
                (v for (_, c), v in weighted.items() if c == currency), Decimal(0)), None, {"currency": currency}))
        rows = tuple(
            DigestRow(stage.display_name(actor.locale), (
                DigestFigure("sales.digest_open", counts.get(stage.id, 0)),
                *(DigestFigure("sales.digest_weighted", value, None, {"currency": currency})
                  for (stage_id, currency), value in sorted(weighted.items()) if stage_id == stage.id)))
            for stage in sorted(stages, key=lambda s: (s.sequence, s.id)))
        return DigestSectionResult(self.name, "sales.digest_pipeline", tuple(figures), rows)
