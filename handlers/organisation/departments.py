"""/departments: the company's department tree; admins add, rename and remove departments."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from bot.i18n import escape
from handlers.core import common


@common.require_actor("users.view")
async def list_departments(update: Update, context: CrmContext) -> None:
    """The tree, indented; managers of departments get buttons to edit."""
    await common.answer(update.callback_query)
    actor = common.actor_of(context)
    tree = await context.services.organisation.departments.tree(actor)
    lines = [context.t("departments.title")]
    lines += ["    " * depth + "• " + escape(dep.name) for depth, dep in tree]
    rows: list[list[common.Button]] = []
    if actor.can("departments.manage"):
        rows = [[("  " * depth + dep.name, f"dp:view:{dep.id}")] for depth, dep in tree]
        if await context.services.organisation.departments.deleted(actor):
            rows.append([(context.t("departments.deleted_list"), "dp:trash")])
    await common.reply(update, context, "\n".join(lines), rows)


@common.require_actor("departments.manage")
async def view_department(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    dep = await context.services.organisation.departments.get(common.actor_of(context),
                                                              common.int_arg(common.callback_args(update), 0))
    rows: list[list[common.Button]] = [
        [(context.t("departments.add_child"), f"dp:new:{dep.id}"),
         (context.t("departments.rename"), f"dp:ren:{dep.id}")],
    ]
    if dep.parent_id is not None:
        rows.append([(context.t("departments.delete"), f"dp:del:{dep.id}")])
    rows.append([(context.t("common.back"), "dp:list")])
    await common.reply(update, context, context.t("departments.card", name=dep.name), rows)


@common.require_actor("departments.manage")
async def new_department(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    common.expect_text(context, "department.create", parent_id=common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("departments.ask_name"), edit=False)


@common.require_actor("departments.manage")
async def rename_department(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    common.expect_text(context, "department.rename", department_id=common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("departments.ask_name"), edit=False)


@common.on_pending("department.create")
@common.require_actor("departments.manage")
async def _typed_new(update: Update, context: CrmContext) -> None:
    parent_id = int(common.current_pending(context).get("parent_id", 0)) or None
    dep = await context.services.organisation.departments.create(common.actor_of(context), common.message_text(update),
                                                                 parent_id)
    common.clear_pending(context)
    await common.reply(update, context, context.t("departments.created", name=dep.name),
                [[(context.t("departments.open_list"), "dp:list")]])


@common.on_pending("department.rename")
@common.require_actor("departments.manage")
async def _typed_rename(update: Update, context: CrmContext) -> None:
    department_id = int(common.current_pending(context).get("department_id", 0))
    name = common.message_text(update)
    await context.services.organisation.departments.rename(common.actor_of(context), department_id, name)
    common.clear_pending(context)
    await common.reply(update, context, context.t("departments.renamed", name=" ".join(name.split())),
                [[(context.t("departments.open_list"), "dp:list")]])


@common.require_actor("departments.manage")
async def delete_department(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    await context.services.organisation.departments.delete(common.actor_of(context),
                                                           common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("departments.deleted"), [[(context.t("common.back"), "dp:list")]])


@common.require_actor("departments.manage")
async def deleted_departments(update: Update, context: CrmContext) -> None:
    deps = await context.services.organisation.departments.deleted(common.actor_of(context))
    await common.restore_menu(update, context, [(d.id, d.name) for d in deps], "dp:undel", "departments.deleted_title",
                       "dp:list")


@common.require_actor("departments.manage")
async def restore_department(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    await context.services.organisation.departments.restore(common.actor_of(context),
                                                            common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("departments.restored"), [[(context.t("common.back"), "dp:list")]])
