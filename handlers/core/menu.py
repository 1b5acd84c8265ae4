"""The command menu: one list, used for /help, for setMyCommands in each language, and for the console."""

from __future__ import annotations

from dataclasses import dataclass

from crm.organisation.permissions import Actor


@dataclass(frozen=True)
class Command:
    name: str
    description_key: str
    needs: str | None = None  # operation permission; None = every staff member


COMMANDS: tuple[Command, ...] = (
    Command("start", "cmd.start"),
    Command("help", "cmd.help"),
    Command("me", "cmd.me"),
    Command("language", "cmd.language"),
    Command("timezone", "cmd.timezone"),
    Command("invite", "cmd.invite", "users.invite"),
    Command("users", "cmd.users", "users.view"),
    Command("departments", "cmd.departments", "users.view"),
    Command("roles", "cmd.roles", "roles.manage"),
    Command("import", "importing.cmd_import", "customers.import"),
    Command("export", "importing.cmd_export", "customers.export"),
    Command("log", "cmd.log", "followups.create"),
    Command("today", "cmd.today"),
    Command("agenda", "cmd.agenda"),
    Command("agendatime", "cmd.agendatime"),
    Command("outbox", "messaging.cmd_outbox"),
    Command("templates", "subscriptions.cmd_templates", "sms.send"),
    Command("campaign", "subscriptions.cmd_campaign", "sms.send"),
    Command("review", "subscriptions.cmd_review", "sms.review"),
    Command("consent", "subscriptions.cmd_consent", "sms.send"),
    Command("labels", "subscriptions.cmd_labels", "customers.view"),
    Command("newcustomer", "cmd.newcustomer", "customers.create"),
    Command("newlead", "cmd.newlead", "customers.create"),
    Command("find", "cmd.find", "customers.view"),
    Command("customers", "cmd.customers", "customers.view"),
    Command("trash", "cmd.trash", "trash.restore"),
    Command("segments", "segments.cmd_segments", "customers.view"),
    Command("handover", "segments.cmd_handover", "customers.handover"),
    Command("nudges", "segments.cmd_nudges", "customers.handover"),
    Command("cancel", "cmd.cancel"),
)


def visible_commands(actor: Actor | None) -> list[Command]:
    if actor is None:
        return []
    return [c for c in COMMANDS if c.needs is None or actor.can(c.needs)]
