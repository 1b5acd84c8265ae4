"""Budgets, projects and reports in chat.

- ``/budget``: used vs budget this year in the reader's scope (per department and category, with %); holders of
  expenses.budget also get the next-year proposal (XLSX) button.
- ``/budget 業務部 travel 2027 NT$120000 [#project]``: the one-message form, echoed for one tap.
- ``/budget set``: the guided form: department, category and year by buttons, then the amount typed, echoed.
- ``/expensereport [period]``: totals per currency by category, person, customer, project and month; XLSX button.
- ``/project 新竹案 [@customer]``: a new project, echoed for one tap; ``/projects``: the list within scope.

Buttons (ids and numbers only): bgs:save bgs:cancel bgs:d:<dept> bgs:c:<category> bgs:y:<year> bg:prop
  er:x:<yyyymm or yyyy>  pjn:save pjn:cancel  pj:open:<id>  pj:st:<id>:<status index>  pj:ren:<id>
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from decimal import Decimal
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from crm.core.money import Money
from crm.customers.model import EntityKind
from crm.expenses.budgets import BudgetDraft
from crm.expenses.line import amount_of
from crm.expenses.model import ProjectStatus, fold
from crm.expenses.reports import Period, parse_period
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, grid, respond
from views.expenses.budgets import STATUS_ICON, budget_line_text, project_rows, project_text, report_text, usage_text
from views.expenses.expenses import money_text

log = logging.getLogger(__name__)

BUDGET_DRAFT = "budget_draft"
BUDGET = "bgs.confirm"
PROJECT_DRAFT = "project_draft"
PROJECT = "pjn.confirm"
PROJECT_RENAME = "pjr.name"
JOBS_KEY = "expense_files"  # in bot_data: staff id → the file being prepared for them


def _reader(context: CrmContext, *operations: str) -> None:
    """Commands shown by a test on the actor: outside it, "not found" (as /expenses), the service checks again."""
    actor = actor_of(context)
    if not any(actor.can(op) for op in operations):
        raise NotFound()


def _error(context: CrmContext, exc: DomainError) -> str:
    return context.t(exc.key, **exc.params)


def _stored(context: CrmContext, key: str) -> dict[str, Any]:
    data = context.user_data.get(key) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, key: str, value: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[key] = value


# ---- /budget ------------------------------------------------------------------------------------------------

@require_actor()
async def budget(update: Update, context: CrmContext) -> None:
    args = context.args or []
    if not args:
        _reader(context, "expenses.create", "expenses.approve", "expenses.budget")
    if args and args[0].casefold() == "set":
        await _guided_start(update, context)
        return
    if args:
        await _one_message(update, context, " ".join(args))
        return
    actor = actor_of(context)
    view = await context.services.expenses.budgets.usage(actor)
    rows: Rows = []
    if actor.can("expenses.budget"):
        rows.append([(context.t("expenses.btn_proposal", year=view.year + 1), "bg:prop")])
    await respond(update, context, usage_text(context.t, context.locale, view), rows)


async def _one_message(update: Update, context: CrmContext, text: str) -> None:
    """``業務部 travel 2027 NT$120000 [#project]`` in any order; the rest of the words name the department."""
    actor = actor_of(context)
    actor.require("expenses.budget")
    services = context.services.expenses
    words = unicodedata.normalize("NFKC", text).split()
    amount: tuple[Decimal, str | None] | None = None
    year: int | None = None
    project: str | None = None
    category = None
    categories = await services.expenses.categories(actor)
    rest: list[str] = []
    for token in words:
        if token.startswith("#") and len(token) > 1 and project is None:
            project = token[1:]
        elif year is None and token.isdigit() and len(token) == 4 and 2000 <= int(token) <= 2100:
            year = int(token)
        elif amount is None and (found := amount_of(token)) is not None:
            amount = found
        elif category is None and (match := next((c for c in categories if fold(token) in c.vocabulary()),
                                                  None)) is not None:
            category = match
        else:
            rest.append(token)
    departments = await services.budgets.departments(actor)
    department = _department(departments, " ".join(rest)) if rest else None
    missing = [key for key, value in (("department", department), ("category", category), ("year", year),
                                      ("amount", amount)) if value is None]
    if missing:
        await respond(update, context, context.t("expenses.budget_unclear",
                                                 missing=", ".join(context.t(f"expenses.part_{m}") for m in missing))
                      + "\n" + context.t("expenses.budget_usage"))
        return
    assert department is not None and category is not None and year is not None and amount is not None
    draft: dict[str, Any] = {"department_id": department.id, "department": department.name,
                             "category_id": category.id, "category": category.display_name(context.locale),
                             "year": year, "amount": str(amount[0]),
                             "currency": amount[1] or services.expenses.currency}
    if project:
        projects = await services.projects.matching(actor, project)
        if len(projects) != 1:
            await respond(update, context, context.t("expenses.no_project", name=project))
            return
        draft["project_id"], draft["project"] = projects[0].id, projects[0].name
    await _budget_confirm(update, context, draft)


def _department(departments: list[Any], typed: str) -> Any:
    """The department named exactly so, else the only one whose name contains the words ("Sales" for
    "台北業務部 Taipei Sales")."""
    wanted = fold(typed)
    exact = [d for d in departments if fold(d.name) == wanted]
    if exact:
        return exact[0]
    partial = [d for d in departments if wanted in fold(d.name)]
    return partial[0] if len(partial) == 1 else None


async def _budget_confirm(update: Update, context: CrmContext, draft: dict[str, Any]) -> None:
    _keep(context, BUDGET_DRAFT, draft)
    flow.ask(context, BUDGET, step="confirm", expects="button", buttons=("bgs:",), owns=(BUDGET_DRAFT,))
    lines = [context.t("expenses.budget_check"),
             context.t("expenses.check_department", name=draft["department"]),
             context.t("expenses.check_category", category=draft["category"]),
             context.t("expenses.check_year", year=draft["year"]),
             context.t("expenses.check_amount", amount=money_text(Money(Decimal(draft["amount"]),
                                                                         draft["currency"])))]
    if draft.get("project"):
        lines.append(context.t("expenses.check_project", name=draft["project"]))
    await respond(update, context, "\n".join(lines),
                  [[(context.t("expenses.btn_save"), "bgs:save"), (context.t("common.cancel"), "bgs:cancel")]],
                  edit=False)


def _step(context: CrmContext) -> str | None:
    waiting = flow.current(context)
    return waiting.step if waiting is not None and waiting.kind == BUDGET else None


@require_actor("expenses.budget")
async def budget_save(update: Update, context: CrmContext) -> None:
    draft = _stored(context, BUDGET_DRAFT)
    if _step(context) != "confirm" or "amount" not in draft:
        raise DomainError("error.stale_button")
    line = await context.services.expenses.budgets.set(actor_of(context), BudgetDraft(
        department_id=int(draft["department_id"]), category_id=int(draft["category_id"]), year=int(draft["year"]),
        amount=Decimal(str(draft["amount"])), currency=str(draft["currency"]),
        project_id=int(draft["project_id"]) if draft.get("project_id") else None))
    flow.abandon(context)
    await respond(update, context, context.t("expenses.budget_saved") + "\n" +
                  budget_line_text(context.t, context.locale, line))


@require_actor("expenses.budget")
async def budget_cancel(update: Update, context: CrmContext) -> None:
    if _step(context) is not None:
        flow.abandon(context)
    await respond(update, context, context.t("expenses.cancelled"))


async def _guided_start(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    actor.require("expenses.budget")
    departments = await context.services.expenses.budgets.departments(actor)
    _keep(context, BUDGET_DRAFT, {})
    flow.ask(context, BUDGET, step="department", expects="button", buttons=("bgs:",), owns=(BUDGET_DRAFT,))
    buttons = [(d.name, f"bgs:d:{d.id}") for d in departments[:30]]
    await respond(update, context, context.t("expenses.ask_department"),
                  [*grid(buttons, 2), [(context.t("common.cancel"), "bgs:cancel")]], edit=False)


@require_actor("expenses.budget")
async def guided_department(update: Update, context: CrmContext) -> None:
    if _step(context) != "department":
        raise DomainError("error.stale_button")
    actor = actor_of(context)
    department = next((d for d in await context.services.expenses.budgets.departments(actor)
                       if d.id == arg(update, 0)), None)
    if department is None:
        raise DomainError("error.not_found")
    _keep(context, BUDGET_DRAFT, {"department_id": department.id, "department": department.name})
    flow.ask(context, BUDGET, step="category", expects="button", buttons=("bgs:",), owns=(BUDGET_DRAFT,))
    categories = await context.services.expenses.expenses.categories(actor)
    buttons = [(c.display_name(context.locale), f"bgs:c:{c.id}") for c in categories]
    await respond(update, context, context.t("expenses.ask_category"),
                  [*grid(buttons, 2), [(context.t("common.cancel"), "bgs:cancel")]])


@require_actor("expenses.budget")
async def guided_category(update: Update, context: CrmContext) -> None:
    if _step(context) != "category":
        raise DomainError("error.stale_button")
    actor = actor_of(context)
    category = next((c for c in await context.services.expenses.expenses.categories(actor)
                     if c.id == arg(update, 0)), None)
    if category is None:
        raise DomainError("error.not_found")
    draft = _stored(context, BUDGET_DRAFT) | {"category_id": category.id,
                                              "category": category.display_name(context.locale)}
    _keep(context, BUDGET_DRAFT, draft)
    flow.ask(context, BUDGET, step="year", expects="button", buttons=("bgs:",), owns=(BUDGET_DRAFT,))
    year = context.services.expenses.budgets.this_year(actor)
    await respond(update, context, context.t("expenses.ask_year"),
                  [[(str(year), f"bgs:y:{year}"), (str(year + 1), f"bgs:y:{year + 1}")],
                   [(context.t("common.cancel"), "bgs:cancel")]])


@require_actor("expenses.budget")
async def guided_year(update: Update, context: CrmContext) -> None:
    this_year = context.services.expenses.budgets.this_year(actor_of(context))
    year = arg(update, 0)
    if _step(context) != "year" or year not in (this_year, this_year + 1):
        raise DomainError("error.stale_button")
    _keep(context, BUDGET_DRAFT, _stored(context, BUDGET_DRAFT) | {"year": year})
    flow.ask(context, BUDGET, step="amount", owns=(BUDGET_DRAFT,), buttons=("bgs:",))
    await respond(update, context, context.t("expenses.ask_budget_amount"))


@flow.on_text(BUDGET)
@require_actor("expenses.budget")
async def guided_amount(update: Update, context: CrmContext) -> None:
    draft = _stored(context, BUDGET_DRAFT)
    found = amount_of(unicodedata.normalize("NFKC", message_text(update)).replace(" ", ""))
    if _step(context) != "amount" or "year" not in draft:
        return
    if found is None or found[0] <= 0:
        await respond(update, context, context.t("expenses.error_amount") + "\n" + context.t("expenses.try_again"))
        return
    draft |= {"amount": str(found[0]), "currency": found[1] or context.services.expenses.expenses.currency}
    await _budget_confirm(update, context, draft)


@flow.on_stray(BUDGET)
@require_actor("expenses.budget")
async def budget_stray(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("expenses.tap_button"))


# ---- files made in the worker: the proposal and the report ------------------------------------------------------

def _start_file(update: Update, context: CrmContext, chat_id: int, make: Any, caption: str) -> bool:
    """One file at a time per person, prepared in the background: PTB hands updates to handlers one at a time."""
    actor = actor_of(context)
    jobs: dict[int, asyncio.Task[None]] = context.bot_data.setdefault(JOBS_KEY, {})
    running = jobs.get(actor.staff_id)
    if running is not None and not running.done():
        return False
    jobs[actor.staff_id] = context.application.create_task(_send_file(context, chat_id, make, caption),
                                                           update=update, name=f"expense file {actor.staff_id}")
    return True


async def wait_for_files(context_app: Any) -> None:
    """Until the files being prepared have been sent (tests, shutdown)."""
    jobs = context_app.bot_data.get(JOBS_KEY) or {}
    await asyncio.gather(*jobs.values(), return_exceptions=True)


async def _send_file(context: CrmContext, chat_id: int, make: Any, caption: str) -> None:
    try:
        made = await make()
    except DomainError as exc:
        await context.bot.send_message(chat_id, _error(context, exc))
        return
    await context.bot.send_document(chat_id, made.data, filename=made.filename, caption=caption)


def _plain(context: CrmContext) -> Any:
    def t(key: str, /, **params: Any) -> str:
        return context.i18n.t(context.locale, key, **params)
    return t


@require_actor("expenses.budget")
async def proposal(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    chat = update.effective_chat
    year = context.services.expenses.budgets.this_year(actor) + 1
    if chat is None:
        return

    async def make() -> Any:
        return await context.services.expenses.budgets.proposal(actor, _plain(context), context.locale)

    started = _start_file(update, context, chat.id, make, context.t("expenses.proposal_caption", year=year))
    await respond(update, context, context.t("expenses.file_coming" if started else "expenses.file_busy"),
                  edit=False)


# ---- /expensereport -----------------------------------------------------------------------------------------

@require_actor()
async def report(update: Update, context: CrmContext) -> None:
    _reader(context, "expenses.create", "expenses.approve", "expenses.budget")
    actor = actor_of(context)
    reports = context.services.expenses.reports
    try:
        period = reports.period(actor, " ".join(context.args or []))
    except ValidationFailed as exc:
        await respond(update, context, _error(context, exc) + "\n" + context.t("expenses.report_usage"))
        return
    shown = await reports.report(actor, period, context.locale, context.t("expenses.none"))
    code = period.label.replace("-", "")
    await respond(update, context, report_text(context.t, shown),
                  [[(context.t("expenses.btn_report_xlsx"), f"er:x:{code}")]])


@require_actor()
async def report_file(update: Update, context: CrmContext) -> None:
    code = str(arg(update, 0))
    try:
        period = parse_period(f"{code[:4]}-{code[4:]}" if len(code) == 6 else code,
                              context.services.clock.now().date())
    except ValidationFailed as exc:
        raise DomainError("error.stale_button") from exc
    actor = actor_of(context)
    chat = update.effective_chat
    if chat is None:
        return
    await _report_file(update, context, actor, period, chat.id)


async def _report_file(update: Update, context: CrmContext, actor: Any, period: Period, chat_id: int) -> None:
    async def make() -> Any:
        return await context.services.expenses.reports.export(actor, period, _plain(context), context.locale)

    started = _start_file(update, context, chat_id, make, context.t("expenses.report_caption", period=period.label))
    await respond(update, context, context.t("expenses.file_coming" if started else "expenses.file_busy"),
                  edit=False)


# ---- projects -----------------------------------------------------------------------------------------------

@require_actor("projects.manage")
async def new_project(update: Update, context: CrmContext) -> None:
    """``/project 新竹案 @台積電``: echoed with Create / Cancel; nothing is stored before the tap."""
    words = unicodedata.normalize("NFKC", " ".join(context.args or [])).split()
    customer = next((w[1:] for w in words if w.startswith("@") and len(w) > 1), None)
    name = " ".join(w for w in words if not (w.startswith("@") and len(w) > 1)).lstrip("#").strip()
    if not name:
        await respond(update, context, context.t("expenses.project_usage"))
        return
    draft: dict[str, Any] = {"name": name}
    if customer:
        found = await context.services.customers.customers.named(actor_of(context), [customer])
        hits = [h for h in found.get(customer, ()) if h.entity is EntityKind.CUSTOMER]
        if len(hits) != 1:
            await respond(update, context, context.t("expenses.no_customer", name=customer))
            return
        draft["customer_id"], draft["customer"] = hits[0].id, hits[0].title
    _keep(context, PROJECT_DRAFT, draft)
    flow.ask(context, PROJECT, expects="button", buttons=("pjn:",), owns=(PROJECT_DRAFT,))
    text = context.t("expenses.project_check", name=name)
    if draft.get("customer"):
        text += "\n" + context.t("expenses.check_customer", name=draft["customer"])
    await respond(update, context, text, [[(context.t("expenses.btn_create"), "pjn:save"),
                                            (context.t("common.cancel"), "pjn:cancel")]], edit=False)


@require_actor("projects.manage")
async def project_save(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    draft = _stored(context, PROJECT_DRAFT)
    if waiting is None or waiting.kind != PROJECT or "name" not in draft:
        raise DomainError("error.stale_button")
    card = await context.services.expenses.projects.create(
        actor_of(context), str(draft["name"]), int(draft["customer_id"]) if draft.get("customer_id") else None)
    flow.abandon(context)
    await respond(update, context, context.t("expenses.project_created") + "\n\n" + project_text(context.t, card),
                  project_rows(context.t, card, True))


@require_actor("projects.manage")
async def project_cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind == PROJECT:
        flow.abandon(context)
    await respond(update, context, context.t("expenses.cancelled"))


@flow.on_stray(PROJECT)
@require_actor("projects.manage")
async def project_stray(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("expenses.tap_button"))


@require_actor()
async def projects(update: Update, context: CrmContext) -> None:
    _reader(context, "projects.manage", "expenses.create", "expenses.approve")
    found = await context.services.expenses.projects.listed(actor_of(context))
    if not found:
        await respond(update, context, context.t("expenses.projects_none"))
        return
    rows: Rows = [[(f"{STATUS_ICON[p.status]} {p.name}"[:60], f"pj:open:{p.id}")] for p in found[:50]]
    await respond(update, context, context.t("expenses.projects_title", count=len(found)), rows)


@require_actor()
async def open_project(update: Update, context: CrmContext) -> None:
    card = await context.services.expenses.projects.card(actor_of(context), arg(update, 0))
    await respond(update, context, project_text(context.t, card),
                  project_rows(context.t, card, actor_of(context).can("projects.manage")), edit=False)


@require_actor("projects.manage")
async def project_status(update: Update, context: CrmContext) -> None:
    statuses = list(ProjectStatus)
    index = arg(update, 1)
    if index >= len(statuses):
        raise DomainError("error.stale_button")
    card = await context.services.expenses.projects.set_status(actor_of(context), arg(update, 0), statuses[index])
    await respond(update, context, project_text(context.t, card), project_rows(context.t, card, True))


@require_actor("projects.manage")
async def project_rename(update: Update, context: CrmContext) -> None:
    """✏️ Rename: the card is checked (scope) before asking; the typed name is checked again when saved."""
    card = await context.services.expenses.projects.card(actor_of(context), arg(update, 0))
    flow.ask(context, PROJECT_RENAME, project_id=card.project.id)
    await respond(update, context, context.t("expenses.ask_project_name", name=card.project.name), edit=False)


@flow.on_text(PROJECT_RENAME)
@require_actor("projects.manage")
async def typed_project_name(update: Update, context: CrmContext) -> None:
    project_id = int(flow.pending(context).get("project_id", 0))
    try:
        card = await context.services.expenses.projects.rename(actor_of(context), project_id, message_text(update))
    except (ValidationFailed, Conflict) as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("expenses.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await respond(update, context, context.t("expenses.edited_note") + "\n\n" + project_text(context.t, card),
                  project_rows(context.t, card, True), edit=False)
