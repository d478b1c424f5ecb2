"""Who may do what, and where: the ONE table of roles × actions × scope that the chat, the web
console and the command line consult (never ``if role == ...`` in a presentation).

A role is a row of ``ROLES``: for each action, the scope it is granted in (``Scope.NONE``:
refused; ``Scope.WARDS``: the account's own wards; ``Scope.STAND_IN``: those of its wards that
have no coordinator now, where its record lets it decide in their place; ``Scope.CITY``:
everywhere), with the texts
that name the role to officials and greet its holders. An account's role is read from what it
holds now (``role_name``): a city admin (CDHT_ADMINS or an admin invitation); else the role of
its active staff record if that record covers at least one ward; else ``none``, a citizen's or
a revoked account's, which is granted nothing. A new role is one row here plus its texts: the
officer (a district's or the city's) reads and reports across the wards given, and reviews and
decides only where it stands in for a missing coordinator.
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
    "OFFICER",
    "ROLES",
    "VERIFIER",
    "Account",
    "Action",
    "RoleRow",
    "Scope",
    "allowed",
    "home_text",
    "invitable",
    "org_bound",
    "role_label",
    "role_name",
    "scope_kind",
    "scope_of",
    "signed_unnamed",
    "signs_for_ward",
    "stands_in",
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
    VERIFY = "verify"  # confirm, for an organisation, the declarations of citizens who named it


class Scope(Enum):
    NONE = "none"  # refused
    WARDS = "wards"  # within the account's own wards
    STAND_IN = "stand_in"  # within its wards that have no coordinator, if it may decide there
    ORG = "org"  # the citizens who named the account's organisation as workplace or school
    CITY = "city"  # everywhere


class Account(Protocol):
    """What the table reads of an account's role now (``bot.domain.usecases.roles.Role``)."""

    @property
    def admin(self) -> bool: ...

    @property
    def staff(self) -> Staff | None: ...

    @property
    def stand_in(self) -> frozenset[str]:
        """Its wards with no coordinator now, where its record lets it decide (an officer's
        ``--decide``); empty for anyone else."""
        ...


@dataclass(frozen=True, slots=True)
class RoleRow:
    """One role: the scope of each action (missing: refused), how officials name the role, and
    what its holders see instead of a citizen's registration (None: a citizen's greeting),
    whether its decisions are the ward's own (a coordinator's: the letter says the ward verified;
    an officer standing in, or an admin, decides for the association, not as the ward), and who
    the citizen hears decided when the holder gave no name."""

    grants: Mapping[Action, Scope]
    label: Text | None = None
    home: Text | None = None
    ward_level: bool = False
    unnamed: Text | None = None

    def scope(self, action: Action) -> Scope:
        return self.grants.get(action, Scope.NONE)


NONE, COORDINATOR, OFFICER, VERIFIER, ADMIN = "none", "coordinator", "officer", "verifier", "admin"
N, W, S, G, C = Scope.NONE, Scope.WARDS, Scope.STAND_IN, Scope.ORG, Scope.CITY  # G: orGanisation
# The table's columns, in this order.
COLUMNS = (
    Action.WEB_CONSOLE, Action.QUEUE, Action.REVIEW, Action.DECIDE, Action.CITIZENS,
    Action.REPORT, Action.EXPORT, Action.LISTS, Action.BROADCAST, Action.OTHERS_BROADCASTS,
    Action.LIST_STAFF, Action.INVITE, Action.REVOKE, Action.CHANNELS, Action.VERIFY,
)  # fmt: skip


def _row(
    scopes: tuple[Scope, ...],
    label: Text | None,
    home: Text | None,
    unnamed: Text | None = None,
    ward_level: bool = False,
) -> RoleRow:
    assert len(scopes) == len(COLUMNS), "one scope per action"
    return RoleRow(dict(zip(COLUMNS, scopes, strict=True)), label, home, ward_level, unnamed)


ROLES: Mapping[str, RoleRow] = {
    #                  web que rev dec cit rep exp lis bro oth sta inv rvk cha ver
    NONE: _row(        (N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N),
                       None, None),
    COORDINATOR: _row( (W,  W,  W,  W,  W,  W,  W,  W,  W,  N,  N,  N,  N,  N,  N),
                       t("staff.role.coordinator"), t("staff.home"), t("note.by.unnamed"),
                       ward_level=True),
    # reads and reports across its wards; the queue, reviews and decisions only where it
    # stands in for a missing coordinator (`--decide`); broadcasts stay the wards' and the city's
    OFFICER: _row(     (W,  S,  S,  S,  W,  W,  W,  W,  N,  N,  N,  N,  N,  N,  N),
                       t("staff.role.officer"), t("staff.home.officer"), t("note.by.officer")),
    # a school's, an agency's or an enterprise's: confirms its people's declarations, which the
    # ward still decides (the ward's reviewer sees the confirmation)
    VERIFIER: _row(    (N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  N,  G),
                       t("staff.role.verifier"), t("staff.home.verifier")),
    ADMIN: _row(       (C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  C,  N),
                       t("staff.role.admin"), t("staff.home.admin"), t("note.by.city")),
}  # fmt: skip


def role_name(account: Account) -> str:
    """The row an account's role is read from now: ``admin`` for a city admin; else its active
    staff record's role when the record covers a ward; else ``none``."""
    if account.admin:
        return ADMIN
    staff = account.staff
    if staff is None or staff.revoked_at is not None or not (staff.wards or staff.org_id):
        return NONE
    return staff.role if staff.role in ROLES else NONE


def scope_kind(account: Account, action: Action) -> Scope:
    return ROLES[role_name(account)].scope(action)


def allowed(account: Account, action: Action, ward: str | None = None) -> bool:
    """Whether the account may do ``action`` now; with ``ward``, for that ward's citizens
    (an officer's stand-in scope: only while it holds such a ward)."""
    kind = scope_kind(account, action)
    if kind is Scope.CITY:
        return True
    if kind is Scope.NONE:
        return False
    if kind is Scope.ORG:  # its organisation's people, wherever they live
        return account.staff is not None and account.staff.org_id is not None
    wards = _wards(account, kind)
    if ward is None:
        return kind is Scope.WARDS or bool(wards)
    return ward in wards


def scope_of(account: Account, action: Action) -> frozenset[str] | None:
    """Where the account may do ``action``: None for the whole city, else the wards (empty when
    the action is refused: callers ask ``allowed`` first)."""
    kind = scope_kind(account, action)
    if kind is Scope.CITY:
        return None
    return _wards(account, kind)


def invitable() -> tuple[str, ...]:
    """The roles an invitation can grant: every row of the table but ``none``, in its order
    (the chat's /invite, the web console's form and ``cdht coordinator invite`` offer these)."""
    return tuple(name for name in ROLES if name != NONE)


def role_label(name: str) -> Text | None:
    """How officials name a role («Điều phối viên», «Quản trị viên»); None for ``none``."""
    row = ROLES.get(name)
    return row.label if row is not None else None


def ward_bound(name: str) -> bool:
    """Whether a role is held for chosen wards (a coordinator, an officer) rather than for the
    city."""
    return any(scope in (Scope.WARDS, Scope.STAND_IN) for scope in ROLES[name].grants.values())


def org_bound(name: str) -> bool:
    """Whether a role is held for an organisation (its verifier) rather than wards or the
    city: its invitation names the organisation."""
    return any(scope is Scope.ORG for scope in ROLES[name].grants.values())


def stands_in(name: str) -> bool:
    """Whether a role can be granted to decide where a ward has no coordinator (an officer's
    ``--decide``)."""
    return any(scope is Scope.STAND_IN for scope in ROLES[name].grants.values())


def signed_unnamed(name: str) -> Text:
    """Who the citizen hears decided when the holder of this role gave no name: the ward's
    staff for a coordinator, the association's officer, else the city's association."""
    row = ROLES.get(name)
    return row.unnamed if row is not None and row.unnamed is not None else t("note.by.city")


def signs_for_ward(name: str) -> bool:
    """Whether a decision by this role is the ward's own (a coordinator's), so that the letter
    and the citizen's notice may say the ward verified; anyone else decides for the
    association."""
    row = ROLES.get(name)
    return row is not None and row.ward_level


def home_text(account: Account) -> Text | None:
    """What the account's holder sees instead of a registration; None for a citizen."""
    return ROLES[role_name(account)].home


def _wards(account: Account, kind: Scope) -> frozenset[str]:
    if kind is Scope.STAND_IN:
        return account.stand_in
    if kind is Scope.WARDS and account.staff is not None:
        return account.staff.wards
    return frozenset()
