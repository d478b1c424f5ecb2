"""Who may do what, and where: the ONE table of roles × actions × scope that the chat, the web
console and the command line consult (never ``if role == ...`` in a presentation).

A role is a row of ``ROLES``: for each action, the scope it is granted in (``Scope.NONE``:
refused; ``Scope.WARDS``: the account's own wards; ``Scope.CITY``: everywhere), with the texts
that name the role to officials and greet its holders. An account's role is read from what it
holds now (``role_name``): a city admin (CDHT_ADMINS or an admin invitation); else the role of
its active staff record if that record covers at least one ward; else ``none``, a citizen's or
a revoked account's, which is granted nothing. A new role (a district officer, say) is one row
here plus its texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Protocol

from bot.domain.records import Staff
from bot.engine.types import Text, t

__all__ = [
    "ADMIN",
    "COLUMNS",
    "COORDINATOR",
    "NONE",
    "ROLES",
    "Account",
    "Action",
    "RoleRow",
    "Scope",
    "allowed",
    "home_text",
    "invitable",
    "role_label",
    "role_name",
    "scope_kind",
    "scope_of",
    "ward_bound",
]


class Action(StrEnum):
    """What staff do, whatever the surface (chat command, web page, command line)."""

    WEB_CONSOLE = "web_console"  # /web's sign-in link, signing in, keeping a session
    QUEUE = "queue"  # /queue, the console's queue: declarations waiting for review
    REVIEW = "review"  # open a declaration, its files, take its review (/review, /console/d/N)
    DECIDE = "decide"  # approve, reject, return, adjust a score, undo (chat, typed, web)
    CITIZENS = "citizens"  # find a citizen and read their history (web console)
    REPORT = "report"  # /report, the dashboard, report.xlsx
    EXPORT = "export"  # /export, export.xlsx: one row per citizen
    LISTS = "lists"  # /proposed, /notstarted, /waiting and their files
    BROADCAST = "broadcast"  # compose and send campaign messages to the scope's citizens
    OTHERS_BROADCASTS = "others_broadcasts"  # report on or cancel a broadcast someone else made
    LIST_STAFF = "list_staff"  # /staff, the console's staff page
    INVITE = "invite"  # /invite, the console's invitation form, `cdht coordinator invite`
    REVOKE = "revoke"  # /revoke, the console's revoke button, `cdht coordinator revoke`
    CHANNELS = "channels"  # connect a ward's own account on a channel (its Zalo OA's page)


class Scope(Enum):
    NONE = "none"  # refused
    WARDS = "wards"  # within the account's own wards
    CITY = "city"  # everywhere


class Account(Protocol):
    """What the table reads of an account's role now (``bot.domain.usecases.roles.Role``)."""

    @property
    def admin(self) -> bool: ...

    @property
    def staff(self) -> Staff | None: ...


@dataclass(frozen=True, slots=True)
class RoleRow:
    """One role: the scope of each action (missing: refused), how officials name the role, and
    what its holders see instead of a citizen's registration (None: a citizen's greeting)."""

    grants: Mapping[Action, Scope]
    label: Text | None = None
    home: Text | None = None

    def scope(self, action: Action) -> Scope:
        return self.grants.get(action, Scope.NONE)


NONE, COORDINATOR, ADMIN = "none", "coordinator", "admin"
N, W, C = Scope.NONE, Scope.WARDS, Scope.CITY
# The table's columns, in this order.
COLUMNS = (
    Action.WEB_CONSOLE, Action.QUEUE, Action.REVIEW, Action.DECIDE, Action.CITIZENS,
    Action.REPORT, Action.EXPORT, Action.LISTS, Action.BROADCAST, Action.OTHERS_BROADCASTS,
    Action.LIST_STAFF, Action.INVITE, Action.REVOKE, Action.CHANNELS,
)  # fmt: skip


def _row(scopes: tuple[Scope, ...], label: Text | None, home: Text | None) -> RoleRow:
    assert len(scopes) == len(COLUMNS), "one scope per action"
    return RoleRow(dict(zip(COLUMNS, scopes, strict=True)), label, home)


ROLES: Mapping[str, RoleRow] = {
    #                  web que rev dec cit rep exp lis bro oth sta inv rvk cha
    NONE: _row(        (N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N),
                       None, None),
    COORDINATOR: _row( (W,  W,  W,  W,  W,  W,  W,  W,  W,  N,  N,  N,  N,  N),
                       t("staff.role.coordinator"), t("staff.home")),
    ADMIN: _row(       (C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  C),
                       t("staff.role.admin"), t("staff.home.admin")),
}  # fmt: skip


def role_name(account: Account) -> str:
    """The row an account's role is read from now: ``admin`` for a city admin; else its active
    staff record's role when the record covers a ward; else ``none``."""
    if account.admin:
        return ADMIN
    staff = account.staff
    if staff is None or staff.revoked_at is not None or not staff.wards:
        return NONE
    return staff.role if staff.role in ROLES else NONE


def scope_kind(account: Account, action: Action) -> Scope:
    return ROLES[role_name(account)].scope(action)


def allowed(account: Account, action: Action, ward: str | None = None) -> bool:
    """Whether the account may do ``action`` now; with ``ward``, for that ward's citizens."""
    kind = scope_kind(account, action)
    if kind is Scope.CITY:
        return True
    if kind is Scope.NONE:
        return False
    return ward is None or ward in _wards(account)


def scope_of(account: Account, action: Action) -> frozenset[str] | None:
    """Where the account may do ``action``: None for the whole city, else the wards (empty when
    the action is refused: callers ask ``allowed`` first)."""
    kind = scope_kind(account, action)
    if kind is Scope.CITY:
        return None
    return _wards(account) if kind is Scope.WARDS else frozenset()


def invitable() -> tuple[str, ...]:
    """The roles an invitation can grant: every row of the table but ``none``, in its order
    (the chat's /invite, the web console's form and ``cdht coordinator invite`` offer these)."""
    return tuple(name for name in ROLES if name != NONE)


def role_label(name: str) -> Text | None:
    """How officials name a role («Điều phối viên», «Quản trị viên»); None for ``none``."""
    row = ROLES.get(name)
    return row.label if row is not None else None


def ward_bound(name: str) -> bool:
    """Whether a role is held for chosen wards (a coordinator) rather than for the city."""
    return any(scope is Scope.WARDS for scope in ROLES[name].grants.values())


def home_text(account: Account) -> Text | None:
    """What the account's holder sees instead of a registration; None for a citizen."""
    return ROLES[role_name(account)].home


def _wards(account: Account) -> frozenset[str]:
    return account.staff.wards if account.staff is not None else frozenset()
