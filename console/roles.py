"""Roles and the permissions they grant (issue 11).

Routes never test role names: they require a *permission*
(`@requires("dossiers.read")`), and this table says which role has which.
Adding a role or moving a right is one edit here, and the permission-matrix
test (tests/console/test_permissions.py) checks every route against it.

- officer: conversations, hand-offs, dossiers of their own agency; may reveal
  personal data of the people they serve (each reveal audited).
- supervisor: everything an officer does, for every agency; assigns work; reports.
- trainer: conversations and training data, personal data always masked.
- admin: accounts and settings; reads the audit log.
- auditor: read-only: conversations and dossiers (masked), the audit log.
"""

from __future__ import annotations

from console.orm import ROLES

ROLE_LABELS_VI: dict[str, str] = {
    "officer": "Cán bộ",
    "supervisor": "Lãnh đạo / giám sát",
    "trainer": "Huấn luyện trợ lý",
    "admin": "Quản trị",
    "auditor": "Kiểm tra, giám sát (chỉ xem)",
}

# permission -> roles that hold it
PERMISSIONS: dict[str, frozenset[str]] = {
    "conversations.read": frozenset({"officer", "supervisor", "trainer", "auditor"}),
    "conversations.export": frozenset({"supervisor", "trainer"}),
    "personal.reveal": frozenset({"officer", "supervisor"}),
    "dossiers.read": frozenset({"officer", "supervisor", "auditor"}),
    "dossiers.all_agencies": frozenset({"supervisor", "auditor"}),
    "dossiers.change": frozenset({"officer", "supervisor"}),
    "dossiers.export": frozenset({"officer", "supervisor"}),
    "attachments.download": frozenset({"officer", "supervisor"}),
    "handoffs.work": frozenset({"officer", "supervisor"}),
    "handoffs.assign": frozenset({"supervisor"}),
    "handoffs.read": frozenset({"officer", "supervisor", "auditor"}),
    "canned.manage": frozenset({"officer", "supervisor"}),
    "settings.manage": frozenset({"admin", "supervisor"}),
    "reports.read": frozenset({"supervisor", "auditor"}),
    "staff.manage": frozenset({"admin"}),
    "audit.read": frozenset({"admin", "auditor"}),
    # issue 12 (maintainers' loop): inbox, training data, models; analytics
    "training.manage": frozenset({"trainer", "admin"}),
    "models.activate": frozenset({"trainer", "admin"}),
    "models.override": frozenset({"admin"}),  # activate despite a regression (audited)
    "analytics.read": frozenset({"supervisor", "trainer", "admin", "auditor"}),
}

assert all(roles <= set(ROLES) for roles in PERMISSIONS.values())


def permissions_of(role: str) -> frozenset[str]:
    """Every permission `role` holds (empty for an unknown role)."""
    return frozenset(name for name, roles in PERMISSIONS.items() if role in roles)


def has_permission(role: str, permission: str) -> bool:
    """True when `role` holds `permission`. Raises KeyError for a permission
    name that does not exist (a typo in a route must fail loudly)."""
    return role in PERMISSIONS[permission]
