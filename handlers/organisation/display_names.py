"""Display names for roles, departments, operations and scopes in the user's language."""

from __future__ import annotations

from bot.context import CrmContext
from crm.organisation.model import Role
from crm.organisation.permissions import Scope


def role_name(context: CrmContext, role: Role) -> str:
    return role_label(context, role.name) if role.is_system else role.name


def role_label(context: CrmContext, name: str) -> str:
    """Built-in roles have translated names; custom roles are shown as their admins named them."""
    key = f"role.{name}"
    return context.t(key) if context.i18n.has("en", key) else name


def operation_name(context: CrmContext, operation: str) -> str:
    return context.t(f"perm.{operation}")


def area_name(context: CrmContext, area: str) -> str:
    return context.t(f"area.{area}")


def scope_name(context: CrmContext, scope: Scope) -> str:
    return context.t(f"scope.{scope.value}")
