"""Display names for roles, departments, operations and scopes in the user's language."""

from __future__ import annotations

from bot.context import CrmContext
from crm.model import Role
from crm.permissions import Scope


def role_name(context: CrmContext, role: Role) -> str:
    key = f"role.{role.name}"
    return context.t(key) if role.is_system and context.i18n.has("en", key) else role.name


def operation_name(context: CrmContext, operation: str) -> str:
    return context.t(f"perm.{operation}")


def area_name(context: CrmContext, area: str) -> str:
    return context.t(f"area.{area}")


def scope_name(context: CrmContext, scope: Scope) -> str:
    return context.t(f"scope.{scope.value}")
