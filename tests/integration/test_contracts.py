"""Contracts over a real database: numbering, rules, scope, audit, soft delete, renewal, handover and deactivation,
and the renewal reminder — planned at a working hour in the owner's zone, moved with the end date, cancelled
with the contract, delivered by the follow-ups' reminder job (late after a restart, never lost)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.app import OFFLINE_TOKEN, build_services
from bot.i18n import Catalogs
from bot.settings import Settings
from crm.contracts.contracts import MAX_FILE_BYTES, Attachment, ContractService
from crm.contracts.model import ContractFields, Status
from crm.core.clock import ManualClock
from crm.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm.customers.customers import CustomerDraft
from crm.customers.model import FollowUpStatus
from crm.organisation.permissions import Actor
from crm.organisation.staff import OwnsOpenWork
from crm.services import Services
from scheduler.followups.reminders import ChatPacer, ReminderDispatcher
from storage import tables as t
from storage.contracts.files import ContractFolder
from tests.fakes.bot_api import FakeBotApi
from tests.support.org import ADMIN_TG, Org, make_org

CATALOGS = Catalogs()
MIA, NED, SUE = 3001, 3002, 3004


@dataclass
class Team:
    org: Org
    mia: Actor  # manager of North (sees North-East too)
    ned: Actor  # rep, North-East
    sue: Actor  # rep, South
    customer_id: int  # Ned's customer 台積電

    @property
    def contracts(self) -> ContractService:
        return self.org.services.contracts.contracts


async def _team(engine: AsyncEngine, clock: ManualClock) -> Team:
    org = await make_org(engine, clock)
    mia = await org.join(org.admin, MIA, "Mia", "manager", org.north)
    ned = await org.join(org.admin, NED, "Ned", "rep", org.north_east)
    sue = await org.join(org.admin, SUE, "Sue", "rep", org.south)
    customer = await org.services.customers.customers.create(ned, CustomerDraft(name="台積電"), force=True)
    return Team(org, mia, ned, sue, customer.id)


def _fields(team: Team, *, starts: date = date(2026, 2, 1), ends: date = date(2027, 1, 31), value: str = "120000",
            currency: str = "TWD", **more: Any) -> ContractFields:
    return ContractFields(customer_id=team.customer_id, title="維護合約", value=Decimal(value), currency=currency,
                          starts_on=starts, ends_on=ends, **more)


async def _followup(engine: AsyncEngine, followup_id: int | None) -> Any:
    assert followup_id is not None
    f = t.followups.c
    async with engine.connect() as conn:
        return (await conn.execute(select(t.followups).where(f.id == followup_id))).one()


async def _audit(engine: AsyncEngine, contract_id: int) -> list[str]:
    a = t.audit_log.c
    async with engine.connect() as conn:
        rows = await conn.execute(select(a.action).where(a.entity == "contract", a.entity_id == contract_id)
                                  .order_by(a.id))
        return [row.action for row in rows]


def _taipei(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour - 8, tzinfo=UTC)


async def test_create_numbers_per_year_owner_defaults_and_reminder_at_nine_in_the_owners_zone(
        engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    card = await team.contracts.create(team.org.admin, _fields(team))
    contract = card.contract
    assert contract.number == "C2026-0001" and contract.owner_id == team.ned.staff_id  # the customer's owner
    assert card.customer_name == "台積電" and card.owner_name == "Ned" and card.state is Status.ACTIVE
    assert contract.remind_days == 30 and contract.money.amount == Decimal("120000")
    # 30 days before 31 January 2027 is Friday 1 January: 09:00 in Taipei (the default zone).
    reminder = await _followup(engine, contract.reminder_id)
    assert reminder.due_at == _taipei(2027, 1, 1, 9) and reminder.owner_id == team.ned.staff_id
    assert reminder.customer_id == team.customer_id and reminder.remind_state == "pending"
    assert "C2026-0001" in reminder.text
    second = await team.contracts.create(team.ned, _fields(team, ends=date(2027, 2, 9), remind_days=30))
    assert second.contract.number == "C2026-0002"
    # 10 January 2027 is a Sunday: the reminder comes on the Friday before.
    assert (await _followup(engine, second.contract.reminder_id)).due_at == _taipei(2027, 1, 8, 9)
    assert await _audit(engine, contract.id) == ["create"]


async def test_rules_refuse_bad_values_and_nothing_is_stored(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    bad = [_fields(team, ends=date(2026, 1, 1)), _fields(team, value="-1"), _fields(team, value="1.234"),
           _fields(team, currency="NT"), _fields(team, remind_days=400), _fields(team, remind_days=-1),
           ContractFields(customer_id=team.customer_id, title="   ", value=Decimal(1), currency="TWD",
                          starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))]
    for fields in bad:
        with pytest.raises(ValidationFailed):
            await team.contracts.create(team.ned, fields)
    assert (await team.contracts.listed(team.ned))[0] == []


async def test_scope_who_sees_and_who_may_change(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    contract = (await team.contracts.create(team.ned, _fields(team))).contract
    assert (await team.contracts.card(team.mia, contract.id)).contract.id == contract.id  # manager of the tree
    with pytest.raises(NotFound):
        await team.contracts.card(team.sue, contract.id)  # another department's rep
    with pytest.raises(NotFound):
        await team.contracts.terminate(team.sue, contract.id, "forged")
    with pytest.raises(NotFound):
        await team.contracts.create(team.sue, _fields(team))  # not her customer
    with pytest.raises(NotFound):
        await team.contracts.card(team.ned, 999_999)
    assert [c.contract.id for c in (await team.contracts.listed(team.sue))[0]] == []
    assert [c.contract.id for c in (await team.contracts.listed(team.mia))[0]] == [contract.id]
    reviewer = await team.org.join(team.org.admin, 3009, "Rex", "reviewer", team.org.north)
    with pytest.raises(PermissionDenied):
        await team.contracts.card(reviewer, contract.id)  # no sales.view
    with pytest.raises(PermissionDenied):
        await team.contracts.create(reviewer, _fields(team))
    assert (await team.contracts.card(team.ned, contract.id)).contract.status is Status.ACTIVE


async def test_moving_the_end_moves_the_reminder_also_after_it_was_sent(engine: AsyncEngine,
                                                                        clock: ManualClock) -> None:
    team = await _team(engine, clock)
    contract = (await team.contracts.create(team.ned, _fields(team))).contract
    card = await team.contracts.update(team.ned, contract.id, {"ends_on": date(2027, 3, 31)})
    assert card.contract.reminder_id == contract.reminder_id
    moved = await _followup(engine, contract.reminder_id)
    assert moved.due_at == _taipei(2027, 3, 1, 9) and "2027-03-31" in moved.text
    card = await team.contracts.update(team.ned, contract.id, {"remind_days": 7})
    assert (await _followup(engine, contract.reminder_id)).due_at == _taipei(2027, 3, 24, 9)
    # The reminder went out; a new end date arms it again.
    async with team.org.services.uow() as uow:
        await uow.customers.followups.update(contract.reminder_id, remind_state="sent")
        await uow.commit()
    await team.contracts.update(team.ned, contract.id, {"ends_on": date(2027, 6, 30), "title": "維護合約 2"})
    again = await _followup(engine, contract.reminder_id)
    assert again.remind_state == "pending" and again.due_at == _taipei(2027, 6, 23, 9)
    # An end so close that its reminder day has passed: the next working moment (now, Thursday 10:00 Taipei).
    await team.contracts.update(team.ned, contract.id, {"ends_on": date(2026, 12, 1), "remind_days": 30})
    assert (await _followup(engine, contract.reminder_id)).due_at == clock.now()
    with pytest.raises(ValidationFailed):
        await team.contracts.update(team.ned, contract.id, {"ends_on": date(2025, 1, 1)})  # before the start
    with pytest.raises(ValidationFailed):
        await team.contracts.update(team.ned, contract.id, {"owner_id": team.sue.staff_id})  # not editable
    assert await _audit(engine, contract.id) == ["create", "update", "update", "update", "update"]


async def test_terminate_delete_restore_and_renew_keep_the_reminder_in_step(engine: AsyncEngine,
                                                                            clock: ManualClock) -> None:
    team = await _team(engine, clock)
    first = (await team.contracts.create(team.ned, _fields(team))).contract
    with pytest.raises(ValidationFailed):
        await team.contracts.terminate(team.ned, first.id, "  ")
    ended = await team.contracts.terminate(team.ned, first.id, "客戶倒閉")
    assert ended.contract.status is Status.TERMINATED and ended.contract.end_reason == "客戶倒閉"
    assert (await _followup(engine, first.reminder_id)).status == FollowUpStatus.CANCELLED.value
    with pytest.raises(Conflict):
        await team.contracts.renew(team.ned, first.id)

    second = (await team.contracts.create(team.ned, _fields(team))).contract
    await team.contracts.delete(team.ned, second.id)
    assert (await _followup(engine, second.reminder_id)).status == FollowUpStatus.CANCELLED.value
    with pytest.raises(NotFound):
        await team.contracts.card(team.ned, second.id)
    trash, _ = await team.contracts.listed(team.ned, deleted=True)
    assert [c.contract.id for c in trash] == [second.id]
    restored = await team.contracts.restore(team.ned, second.id)
    assert restored.contract.reminder_id != second.reminder_id  # a fresh reminder row
    assert (await _followup(engine, restored.contract.reminder_id)).status == FollowUpStatus.OPEN.value

    renewed = await team.contracts.renew(team.ned, second.id)
    new = renewed.contract
    assert (new.starts_on, new.ends_on) == (date(2027, 2, 1), date(2028, 1, 31))
    assert new.renewed_from == second.id and new.number == "C2026-0003" and new.value == second.value
    old = await team.contracts.card(team.ned, second.id)
    assert old.contract.status is Status.RENEWED
    assert (await _followup(engine, restored.contract.reminder_id)).status == FollowUpStatus.DONE.value
    assert (await _followup(engine, new.reminder_id)).due_at == _taipei(2028, 1, 1, 9) - timedelta(days=1)
    typed = await team.contracts.renew(team.ned, new.id, ends_on=date(2029, 6, 30))
    assert (typed.contract.starts_on, typed.contract.ends_on) == (date(2028, 2, 1), date(2029, 6, 30))
    assert await _audit(engine, second.id) == ["create", "delete", "restore", "renew"]
    listed, _ = await team.contracts.listed(team.ned)
    assert listed[0].contract.id == typed.contract.id  # the active one first


async def test_expired_is_shown_not_stored(engine: AsyncEngine, clock: ManualClock) -> None:
    team = await _team(engine, clock)
    contract = (await team.contracts.create(team.ned, _fields(team, ends=date(2026, 12, 31)))).contract
    clock.set(datetime(2027, 1, 2, 2, tzinfo=UTC))
    card = await team.contracts.card(team.ned, contract.id)
    assert card.state is Status.EXPIRED and card.contract.status is Status.ACTIVE


async def test_active_contracts_block_deactivation_and_move_with_a_handover(engine: AsyncEngine,
                                                                            clock: ManualClock) -> None:
    team = await _team(engine, clock)
    contract = (await team.contracts.create(team.ned, _fields(team))).contract
    staff = team.org.services.organisation.staff
    owned = await staff.open_work_of(team.org.admin, team.ned.staff_id)
    assert owned["contracts"] == 1
    with pytest.raises(OwnsOpenWork) as refused:
        await staff.set_active(team.org.admin, team.ned.staff_id, False)
    assert refused.value.counts["contracts"] == 1
    await team.org.services.segments.handover.execute(team.org.admin, team.ned.staff_id, team.sue.staff_id)
    moved = await team.contracts.card(team.sue, contract.id)
    assert moved.contract.owner_id == team.sue.staff_id
    assert (await _followup(engine, contract.reminder_id)).owner_id == team.sue.staff_id
    assert "handover" in await _audit(engine, contract.id)
    assert (await staff.open_work_of(team.org.admin, team.ned.staff_id)).get("contracts", 0) == 0
    await staff.set_active(team.org.admin, team.ned.staff_id, False)


def _fake_api() -> FakeBotApi:
    api = FakeBotApi(token=OFFLINE_TOKEN)
    api.add_user(ADMIN_TG, "Ada")
    api.add_user(NED, "Ned")
    return api


async def _dispatcher(services: Services, api: FakeBotApi) -> ReminderDispatcher:
    bot = Bot(api.token, request=api, get_updates_request=api.updates_request())
    await bot.initialize()
    return ReminderDispatcher(services.followups.reminders, bot, CATALOGS, pacer=ChatPacer(burst=10_000))


async def test_the_reminder_goes_out_at_its_local_time_with_the_contracts_buttons(engine: AsyncEngine,
                                                                                  clock: ManualClock) -> None:
    team = await _team(engine, clock)
    contract = (await team.contracts.create(team.ned, _fields(team))).contract
    api = _fake_api()
    dispatcher = await _dispatcher(team.org.services, api)
    clock.set(_taipei(2027, 1, 1, 9) - timedelta(seconds=1))
    assert (await dispatcher.run_once()).sent == 0
    clock.advance(timedelta(seconds=2))
    stats = await dispatcher.run_once()
    assert stats.sent == 1 and stats.late == 0
    pushed = api.sent_messages(NED)[-1]
    text = pushed.text or ""
    assert "Contract renewal" in text and "C2026-0001" in text and "2027-01-31" in text and "台積電" in text
    assert "(late)" not in text
    data = [b.callback_data for b in pushed.buttons]
    assert data[:3] == [f"kt:open:{contract.id}", f"kt:renew:{contract.id}", f"fu:log:customer:{team.customer_id}"]
    assert f"fu:done:{contract.reminder_id}" in data
    assert (await dispatcher.run_once()).sent == 0  # once


async def test_a_reminder_due_while_the_bot_was_down_goes_out_late_after_a_restart(engine: AsyncEngine,
                                                                                   clock: ManualClock) -> None:
    team = await _team(engine, clock)
    await team.org.services.organisation.staff.set_locale(team.ned, "zh-Hans")
    await team.contracts.create(team.ned, _fields(team))
    clock.set(_taipei(2027, 1, 3, 15))  # the bot was down on the day
    # A new process: services built again over the same database.
    restarted = build_services(Settings(admin_telegram_ids=frozenset({ADMIN_TG}), _env_file=None), engine, clock)
    api = _fake_api()
    stats = await (await _dispatcher(restarted, api)).run_once()
    assert stats.sent == 1 and stats.late == 1
    text = api.sent_messages(NED)[-1].text or ""
    assert "合同续约（延迟送达）" in text and "C2026-0001" in text


async def test_the_file_copy_is_private_sanitised_and_capped(engine: AsyncEngine, clock: ManualClock,
                                                             tmp_path: Path) -> None:
    team = await _team(engine, clock)
    folder = ContractFolder(tmp_path / "data")
    service = ContractService(team.org.services.uow, clock, folder, default_timezone="Asia/Taipei")
    created = await service.create(team.ned, _fields(team), Attachment("file-1", "../../etc/合約 v1?.pdf", b"%PDF-1"))
    contract = created.contract
    assert contract.file_id == "file-1" and contract.file_name == "合約_v1_.pdf"
    path = tmp_path / "data" / "contracts" / f"{contract.id}-合約_v1_.pdf"
    assert contract.file_path == path.name and path.read_bytes() == b"%PDF-1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert list(path.parent.iterdir()) == [path]  # nothing left half-written beside it
    again = await service.attach(team.ned, contract.id, Attachment("file-2", ".hidden", b"second"))
    assert again.contract.file_name == "hidden"
    assert (await service.file(team.ned, contract.id)).file_id == "file-2"
    assert await service.file_copy(team.ned, contract.id) == b"second"
    with pytest.raises(ValidationFailed):
        await service.attach(team.ned, contract.id, Attachment("file-3", "big.pdf", b"x" * (MAX_FILE_BYTES + 1)))
    with pytest.raises(NotFound):
        await service.file(team.sue, contract.id)
    with pytest.raises(NotFound):
        await service.file_copy(team.sue, contract.id)
    assert "attach" in await _audit(engine, contract.id)
