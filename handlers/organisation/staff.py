"""/users: the people this user may see; managers change roles and departments and deactivate leavers."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Update

from bot.context import CrmContext
from crm.organisation.model import Staff
from crm.organisation.staff import PAGE_SIZE, OwnsOpenWork
from handlers.core.common import Button, actor_of, answer, callback_args, int_arg, reply, require_actor
from handlers.organisation.display_names import role_name


@require_actor("users.view")
async def list_users(update: Update, context: CrmContext) -> None:
    """One page of colleagues, with paging buttons."""
    await answer(update.callback_query)
    args = callback_args(update)
    page = int_arg(args, 0) if args else 0
    rows_staff, total = await context.services.organisation.staff.page(actor_of(context), page)
    rows: list[list[Button]] = []
    for person in rows_staff:
        mark = "" if person.active else " ⛔"
        rows.append([(f"{person.name}{mark}", f"us:view:{person.id}")])
    nav: list[Button] = []
    if page > 0:
        nav.append(("◀️", f"us:list:{page - 1}"))
    if (page + 1) * PAGE_SIZE < total:
        nav.append(("▶️", f"us:list:{page + 1}"))
    rows.append(nav)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    await reply(update, context, context.t("users.title", total=total, page=page + 1, pages=pages), rows)


async def _card(update: Update, context: CrmContext, person: Staff) -> None:
    actor = actor_of(context)
    services = context.services
    department = await services.organisation.departments.get(actor, person.department_id)
    role_label = str(person.role_id)
    if actor.can("roles.manage"):
        role_label = role_name(context, await services.organisation.roles.get(actor, person.role_id))
    else:
        for role in await services.organisation.roles.assignable(actor) if actor.can("users.invite") else []:
            if role.id == person.role_id:
                role_label = role_name(context, role)
    status = context.t("users.active" if person.active else "users.inactive")
    text = context.t("users.card", name=person.name, username=f"@{person.username}" if person.username else "—",
                     role=role_label, department=department.name, status=status)
    rows: list[list[Button]] = []
    if actor.can("users.manage") and person.id != actor.staff_id:
        rows.append([(context.t("users.change_role"), f"us:role:{person.id}"),
                     (context.t("users.change_department"), f"us:dep:{person.id}")])
        if person.active:
            rows.append([(context.t("users.deactivate"), f"us:off:{person.id}")])
        else:
            rows.append([(context.t("users.reactivate"), f"us:on:{person.id}")])
    rows.append([(context.t("common.back"), "us:list:0")])
    await reply(update, context, text, rows)


@require_actor("users.view")
async def view_user(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    person = await context.services.organisation.staff.get(actor_of(context), int_arg(callback_args(update), 0))
    await _card(update, context, person)


@require_actor("users.manage")
async def role_menu(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    actor = actor_of(context)
    staff_id = int_arg(callback_args(update), 0)
    person = await context.services.organisation.staff.get(actor, staff_id)
    roles = await context.services.organisation.roles.assignable(actor)
    rows: list[list[Button]] = [
        [(("• " if r.id == person.role_id else "") + role_name(context, r), f"us:setrole:{staff_id}:{r.id}")]
        for r in roles
    ]
    rows.append([(context.t("common.back"), f"us:view:{staff_id}")])
    await reply(update, context, context.t("users.pick_role", name=person.name), rows)


@require_actor("users.manage")
async def set_role(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    staff_id, role_id = int_arg(args, 0), int_arg(args, 1)
    await context.services.organisation.staff.change_role(actor_of(context), staff_id, role_id)
    await answer(update.callback_query, context.t("users.saved"))
    await _card(update, context, await context.services.organisation.staff.get(actor_of(context), staff_id))


@require_actor("users.manage")
async def department_menu(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    actor = actor_of(context)
    staff_id = int_arg(callback_args(update), 0)
    person = await context.services.organisation.staff.get(actor, staff_id)
    scope = actor.scope_filter("staff")
    rows: list[list[Button]] = [
        [("  " * depth + ("• " if dep.id == person.department_id else "") + dep.name,
          f"us:setdep:{staff_id}:{dep.id}")]
        for depth, dep in await context.services.organisation.departments.tree(actor) if scope.allows(None, dep.id)
    ]
    rows.append([(context.t("common.back"), f"us:view:{staff_id}")])
    await reply(update, context, context.t("users.pick_department", name=person.name), rows)


@require_actor("users.manage")
async def set_department(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    staff_id, department_id = int_arg(args, 0), int_arg(args, 1)
    await context.services.organisation.staff.change_department(actor_of(context), staff_id, department_id)
    await answer(update.callback_query, context.t("users.saved"))
    await _card(update, context, await context.services.organisation.staff.get(actor_of(context), staff_id))


@require_actor("users.manage")
async def deactivate(update: Update, context: CrmContext) -> None:
    """Ask first: deactivation locks the person out at once. While they still own customers, open leads or
    open follow-ups, offer the handover instead: their records must never be left without an active owner."""
    await answer(update.callback_query)
    staff_id = int_arg(callback_args(update), 0)
    person = await context.services.organisation.staff.get(actor_of(context), staff_id)
    owned = await context.services.organisation.staff.open_work_of(actor_of(context), staff_id)
    if any(owned.values()):
        await _handover_first(update, context, person, owned)
        return
    await reply(update, context, context.t("users.confirm_deactivate", name=person.name),
                [[(context.t("users.deactivate_yes"), f"us:offok:{staff_id}"),
                  (context.t("common.cancel"), f"us:view:{staff_id}")]])


async def _handover_first(update: Update, context: CrmContext, person: Staff, owned: Mapping[str, int]) -> None:
    """Shown instead of the deactivation question while the person still owns open work. The handover itself
    is the segments module's flow: its button (``ho:pick``) is answered there."""
    text = "\n".join([context.t("segments.deactivate_blocked", name=person.name), owned_text(context, owned)])
    rows: list[list[Button]] = []
    if actor_of(context).can("customers.handover"):
        rows.append([(context.t("segments.btn_handover_first"), f"ho:pick:{person.id}")])
    else:
        text += "\n" + context.t("segments.deactivate_ask_manager")
    rows.append([(context.t("common.back"), f"us:view:{person.id}")])
    await reply(update, context, text, rows)


@require_actor("users.manage")
async def deactivate_confirmed(update: Update, context: CrmContext) -> None:
    staff_id = int_arg(callback_args(update), 0)
    # Checked again by the service: something may have been assigned to them since the question was asked.
    try:
        person = await context.services.organisation.staff.set_active(actor_of(context), staff_id, False)
    except OwnsOpenWork as refused:
        await answer(update.callback_query)
        person = await context.services.organisation.staff.get(actor_of(context), staff_id)
        await _handover_first(update, context, person, refused.counts)
        return
    await answer(update.callback_query, context.t("users.deactivated", name=person.name))
    await _card(update, context, person)


@require_actor("users.manage")
async def reactivate(update: Update, context: CrmContext) -> None:
    staff_id = int_arg(callback_args(update), 0)
    person = await context.services.organisation.staff.set_active(actor_of(context), staff_id, True)
    await answer(update.callback_query, context.t("users.reactivated", name=person.name))
    await _card(update, context, person)


def owned_text(context: CrmContext, owned: Mapping[str, int]) -> str:
    """"They still own 3 customers, 2 open opportunities…" in the reader's language; a kind this release has no
    words for is shown by its name."""
    parts = [context.t(f"owned.{kind}", count=count) if context.i18n.has("en", f"owned.{kind}") else f"{count} {kind}"
             for kind, count in owned.items() if count]
    return context.t("error.owns_records", what=context.t("common.list_separator").join(parts))
