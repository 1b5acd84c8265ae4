"""/roles: admins edit roles in chat — operation permissions by area, query scope by data area."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from crm.organisation.model import Role
from crm.organisation.permissions import OPERATIONS, SCOPE_AREAS, Scope, operation_area
from handlers.core import common
from handlers.organisation.display_names import area_name, operation_name, role_name, scope_name

OPERATION_AREAS: tuple[str, ...] = tuple(dict.fromkeys(operation_area(op) for op in OPERATIONS))


@common.require_actor("roles.manage")
async def list_roles(update: Update, context: CrmContext) -> None:
    """All roles, with member counts; buttons to open one or create a new one."""
    await common.answer(update.callback_query)
    actor = common.actor_of(context)
    roles = await context.services.organisation.roles.list(actor)
    rows: list[list[common.Button]] = [[(role_name(context, r), f"rl:view:{r.id}")] for r in roles]
    rows.append([(context.t("roles.new"), "rl:new")])
    if await context.services.organisation.roles.deleted(actor):
        rows.append([(context.t("roles.deleted_list"), "rl:trash")])
    await common.reply(update, context, context.t("roles.title"), rows)


@common.require_actor("roles.manage")
async def deleted_roles(update: Update, context: CrmContext) -> None:
    roles = await context.services.organisation.roles.deleted(common.actor_of(context))
    await common.restore_menu(update, context, [(r.id, r.name) for r in roles], "rl:undel", "roles.deleted_title",
                       "rl:list")


@common.require_actor("roles.manage")
async def restore_role(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    role = await context.services.organisation.roles.restore(common.actor_of(context),
                                                             common.int_arg(common.callback_args(update), 0))
    await _show(update, context, role)


async def _show(update: Update, context: CrmContext, role: Role) -> None:
    actor = common.actor_of(context)
    members = await context.services.organisation.roles.member_count(actor, role.id)
    lines = [context.t("roles.card", name=role_name(context, role), members=members,
                       count=len(role.permissions), total=len(OPERATIONS))]
    for area in SCOPE_AREAS:
        lines.append(f"• {area_name(context, area)}: {scope_name(context, role.scopes.get(area, Scope.OWN))}")
    rows: list[list[common.Button]] = []
    pair: list[common.Button] = []
    for index, area in enumerate(OPERATION_AREAS):
        granted = sum(1 for op in role.permissions if operation_area(op) == area)
        total = sum(1 for op in OPERATIONS if operation_area(op) == area)
        pair.append((f"{area_name(context, area)} {granted}/{total}", f"rl:area:{role.id}:{index}"))
        if len(pair) == 2:
            rows.append(pair)
            pair = []
    if pair:
        rows.append(pair)
    rows.append([(context.t("roles.scopes"), f"rl:scopes:{role.id}")])
    rows.append([(context.t("roles.copy"), f"rl:copy:{role.id}"), (context.t("roles.rename"), f"rl:ren:{role.id}")])
    if not role.is_system:
        rows.append([(context.t("roles.delete"), f"rl:del:{role.id}")])
    rows.append([(context.t("common.back"), "rl:list")])
    await common.reply(update, context, "\n".join(lines), rows)


@common.require_actor("roles.manage")
async def view_role(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    role = await context.services.organisation.roles.get(common.actor_of(context),
                                                         common.int_arg(common.callback_args(update), 0))
    await _show(update, context, role)


async def _show_area(update: Update, context: CrmContext, role: Role, area_index: int) -> None:
    area = OPERATION_AREAS[area_index]
    rows: list[list[common.Button]] = []
    for op_index, op in enumerate(OPERATIONS):
        if operation_area(op) == area:
            mark = "✅" if op in role.permissions else "▫️"
            rows.append([(f"{mark} {operation_name(context, op)}", f"rl:perm:{role.id}:{op_index}")])
    rows.append([(context.t("common.back"), f"rl:view:{role.id}")])
    await common.reply(update, context, context.t("roles.area_title", name=role_name(context, role),
                                           area=area_name(context, area)), rows)


@common.require_actor("roles.manage")
async def view_area(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    args = common.callback_args(update)
    area_index = common.int_arg(args, 1)
    if not 0 <= area_index < len(OPERATION_AREAS):
        await common.reply(update, context, context.t("error.stale_button"))
        return
    role = await context.services.organisation.roles.get(common.actor_of(context), common.int_arg(args, 0))
    await _show_area(update, context, role, area_index)


@common.require_actor("roles.manage")
async def toggle_permission(update: Update, context: CrmContext) -> None:
    args = common.callback_args(update)
    op_index = common.int_arg(args, 1)
    if not 0 <= op_index < len(OPERATIONS):
        await common.answer(update.callback_query, context.t("error.stale_button"))
        return
    operation = OPERATIONS[op_index]
    role_id = common.int_arg(args, 0)
    role = await context.services.organisation.roles.toggle_permission(common.actor_of(context), role_id, operation)
    await common.answer(update.callback_query, context.t("roles.saved"))
    await _show_area(update, context, role, OPERATION_AREAS.index(operation_area(operation)))


async def _show_scopes(update: Update, context: CrmContext, role: Role) -> None:
    rows: list[list[common.Button]] = []
    for index, area in enumerate(SCOPE_AREAS):
        scope = role.scopes.get(area, Scope.OWN)
        rows.append([(f"{area_name(context, area)}: {scope_name(context, scope)}", f"rl:scope:{role.id}:{index}")])
    rows.append([(context.t("common.back"), f"rl:view:{role.id}")])
    await common.reply(update, context, context.t("roles.scopes_title", name=role_name(context, role)), rows)


@common.require_actor("roles.manage")
async def view_scopes(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    role = await context.services.organisation.roles.get(common.actor_of(context),
                                                         common.int_arg(common.callback_args(update), 0))
    await _show_scopes(update, context, role)


@common.require_actor("roles.manage")
async def cycle_scope(update: Update, context: CrmContext) -> None:
    args = common.callback_args(update)
    area_index = common.int_arg(args, 1)
    if not 0 <= area_index < len(SCOPE_AREAS):
        await common.answer(update.callback_query, context.t("error.stale_button"))
        return
    role = await context.services.organisation.roles.cycle_scope(common.actor_of(context), common.int_arg(args, 0),
                                                                 SCOPE_AREAS[area_index])
    await common.answer(update.callback_query, context.t("roles.saved"))
    await _show_scopes(update, context, role)


@common.require_actor("roles.manage")
async def new_role(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    common.expect_text(context, "role.create")
    await common.reply(update, context, context.t("roles.ask_name"), edit=False)


@common.require_actor("roles.manage")
async def copy_role(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    common.expect_text(context, "role.create", copy_from=common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("roles.ask_name"), edit=False)


@common.require_actor("roles.manage")
async def rename_role(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    common.expect_text(context, "role.rename", role_id=common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("roles.ask_name"), edit=False)


@common.on_pending("role.create")
@common.require_actor("roles.manage")
async def _typed_new_name(update: Update, context: CrmContext) -> None:
    pending = common.current_pending(context)
    copy_from = pending.get("copy_from")
    role = await context.services.organisation.roles.create(common.actor_of(context), common.message_text(update),
                                                            copy_from)
    common.clear_pending(context)
    await common.reply(update, context, context.t("roles.created", name=role.name))
    await _show(update, context, role)


@common.on_pending("role.rename")
@common.require_actor("roles.manage")
async def _typed_rename(update: Update, context: CrmContext) -> None:
    pending = common.current_pending(context)
    role = await context.services.organisation.roles.rename(common.actor_of(context), int(pending.get("role_id", 0)),
                                               common.message_text(update))
    common.clear_pending(context)
    await _show(update, context, role)


@common.require_actor("roles.manage")
async def delete_role(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    role_id = common.int_arg(common.callback_args(update), 0)
    role = await context.services.organisation.roles.get(common.actor_of(context), role_id)
    await common.reply(update, context, context.t("roles.confirm_delete", name=role_name(context, role)),
                [[(context.t("common.yes_delete"), f"rl:delok:{role_id}"),
                  (context.t("common.cancel"), f"rl:view:{role_id}")]])


@common.require_actor("roles.manage")
async def delete_role_confirmed(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    await context.services.organisation.roles.delete(common.actor_of(context),
                                                     common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("roles.deleted"), [[(context.t("common.back"), "rl:list")]])
