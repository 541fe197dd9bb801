"""Who may do what: the one place access is decided.

Services call :func:`require` before acting and :func:`experts_scope` (and its kin) to filter
queries, so no route decides access on its own. Each rule is a small function of the principal
and, where it matters, the target; :data:`RULES` maps every permission to its rule.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false, true

from crrt.auth.enums import Role
from crrt.auth.principal import Principal
from crrt.core.errors import Forbidden, NotFound


class Permission(StrEnum):
    ORGANISATIONS_READ = "organisations.read"
    ORGANISATIONS_WRITE = "organisations.write"
    INSTITUTIONS_WRITE = "institutions.write"
    EXPERTS_READ = "experts.read"
    EXPERTS_WRITE = "experts.write"
    EXPERTS_PERSONAL_DATA = "experts.personal_data"
    EXPERTS_OWN_AVAILABILITY = "experts.own_availability"
    EXPERTS_LINK_USER = "experts.link_user"
    AUDIT_READ = "audit.read"
    USERS_MANAGE = "users.manage"
    DASHBOARD_POOL = "dashboard.pool"
    WEBHOOKS_MANAGE = "webhooks.manage"


def _is(*roles: Role) -> Callable[[Principal, Any], bool]:
    allowed = frozenset(roles)
    return lambda principal, _target=None: principal.role in allowed


def _everyone(principal: Principal, _target: Any = None) -> bool:
    return True


def _own_nation_or_central(principal: Principal, org_id: Any = None) -> bool:
    """Admins and coordinators for any organisation; a POC for its own nation only."""
    if principal.role in (Role.ADMIN, Role.COORDINATOR):
        return True
    return principal.role is Role.NATIONAL_POC and org_id is not None \
        and org_id == principal.org_id


def _own_record(principal: Principal, user_id: Any = None) -> bool:
    """The expert record linked to the principal's own account."""
    return principal.user_id is not None and user_id == principal.user_id


def _sees_pool(principal: Principal, _target: Any = None) -> bool:
    return principal.role in (Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC, Role.RESPONDER)


RULES: dict[Permission, Callable[[Principal, Any], bool]] = {
    Permission.ORGANISATIONS_READ: _everyone,
    Permission.ORGANISATIONS_WRITE: _is(Role.ADMIN, Role.COORDINATOR),
    Permission.INSTITUTIONS_WRITE: _own_nation_or_central,
    Permission.EXPERTS_READ: _sees_pool,
    Permission.EXPERTS_WRITE: _own_nation_or_central,
    Permission.EXPERTS_PERSONAL_DATA: _own_nation_or_central,
    Permission.EXPERTS_OWN_AVAILABILITY: _own_record,
    Permission.EXPERTS_LINK_USER: _is(Role.ADMIN, Role.COORDINATOR),
    Permission.AUDIT_READ: _is(Role.ADMIN, Role.COORDINATOR),
    Permission.USERS_MANAGE: _is(Role.ADMIN),
    Permission.DASHBOARD_POOL: _is(Role.ADMIN, Role.COORDINATOR, Role.NATIONAL_POC),
    Permission.WEBHOOKS_MANAGE: _is(Role.ADMIN),
}


def allows(principal: Principal, permission: Permission, target: Any = None) -> bool:
    """Whether ``principal`` holds ``permission`` (on ``target``, where the rule needs one)."""
    return RULES[permission](principal, target)


def require(principal: Principal, permission: Permission, target: Any = None) -> None:
    """Raise :class:`Forbidden` unless the principal holds the permission."""
    if not allows(principal, permission, target):
        raise Forbidden(f"Your role ({principal.role.value}) may not do this.")


def experts_scope(principal: Principal, org_column: Any, user_column: Any) -> ColumnElement[bool]:
    """The filter on experts the principal may read: all, its nation's, or its own record."""
    if principal.role in (Role.ADMIN, Role.COORDINATOR):
        return true()
    if principal.role is Role.NATIONAL_POC:
        return org_column == principal.org_id
    if principal.role is Role.RESPONDER and principal.user_id is not None:
        return user_column == principal.user_id
    return false()


def expert_visible(principal: Principal, *, org_id: int, user_id: int | None) -> bool:
    """The same rule as :func:`experts_scope`, for one expert already loaded."""
    if principal.role in (Role.ADMIN, Role.COORDINATOR):
        return True
    if principal.role is Role.NATIONAL_POC:
        return org_id == principal.org_id
    if principal.role is Role.RESPONDER:
        return user_id is not None and user_id == principal.user_id
    return False


def require_expert_visible(principal: Principal, *, org_id: int, user_id: int | None) -> None:
    """An expert outside the principal's scope does not exist for it (404, not 403)."""
    require(principal, Permission.EXPERTS_READ)
    if not expert_visible(principal, org_id=org_id, user_id=user_id):
        raise NotFound("No such expert.")


def require_availability_write(principal: Principal, *, org_id: int, user_id: int | None) -> None:
    """Unavailability is kept by whoever may edit the expert, and by the expert themself."""
    if not (allows(principal, Permission.EXPERTS_WRITE, org_id)
            or allows(principal, Permission.EXPERTS_OWN_AVAILABILITY, user_id)):
        raise Forbidden(f"Your role ({principal.role.value}) may not do this.")
