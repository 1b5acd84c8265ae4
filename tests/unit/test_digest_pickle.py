"""A digest is computed in the worker's separate process (``DigestService.compose`` → ``Worker.run_apart``): every
section and trend line the modules register, the actor, the periods and the chart renderer cross to it by
pickling, and the results come back the same way. A section that did not pickle would fail every digest."""

from __future__ import annotations

import asyncio
import pickle
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bot.app import build_services
from bot.settings import Settings
from crm.core.clock import ManualClock
from crm.digests.digests import CHART_TITLE_KEY, compose_job
from crm.organisation.digest import DigestFigure, DigestPeriod, DigestRow, DigestSectionResult, DigestSeries
from crm.organisation.permissions import Actor, Scope
from crm.services import Services
from outbound.digest_chart import MatplotlibTrendChart
from storage.engine import create_engine

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def _services(tmp_path: Path) -> Services:
    """Built as the bot builds them, so the sections are exactly those the modules register."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/crm.db")  # never connected: nothing to migrate
    try:
        return build_services(Settings(_env_file=None), engine, ManualClock(NOW))
    finally:
        asyncio.run(engine.dispose())


def test_every_registered_section_and_trend_pickles(tmp_path: Path) -> None:
    organisation = _services(tmp_path).organisation
    sections, trends = list(organisation.digest_sections), list(organisation.digest_trends)
    assert len(sections) >= 10 and len(trends) >= 2  # the modules registered theirs
    for section in sections:
        back = pickle.loads(pickle.dumps(section))
        assert type(back) is type(section) and (back.name, back.position) == (section.name, section.position)
    for trend in trends:
        line = pickle.loads(pickle.dumps(trend))
        assert type(line) is type(trend) and (line.name, line.position, line.key) == (trend.name, trend.position,
                                                                                      trend.key)
    assert len({t.key for t in trends}) == len(trends)  # the chart's labels are looked up by key


def test_the_job_and_the_rest_of_its_arguments_pickle() -> None:
    actor = Actor(7, 70, "王小明", 2, "manager", 3, frozenset({"digests.receive", "customers.view"}),
                  {"customers": Scope.DEPARTMENT}, frozenset({3, 4}), "zh_Hant", "Asia/Taipei")
    period = DigestPeriod(NOW, NOW.replace(day=27))
    arguments = (compose_job, actor, period, [period, period], ["11-26"], MatplotlibTrendChart(),
                 {CHART_TITLE_KEY: "趨勢"})
    back = pickle.loads(pickle.dumps(arguments))
    assert back[1] == actor and back[1].scope_filter("customers") == actor.scope_filter("customers")
    assert back[2] == period and back[0] is compose_job


def test_results_come_back_whole() -> None:
    result = DigestSectionResult("orders", "orders.digest_title",
                                 (DigestFigure("orders.digest_revenue", Decimal("12.50"), Decimal(3),
                                               {"currency": "TWD"}),),
                                 (DigestRow("北區", (DigestFigure("x.y", 2, None),)),))
    series = DigestSeries("customers.digest_new_customers", (1, 2, 3))
    assert pickle.loads(pickle.dumps(([result], [series], b"png"))) == ([result], [series], b"png")
