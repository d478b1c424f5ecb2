"""The one table of roles and permissions, walked whole: every role × every action × (its own
ward, another ward, no ward named), against the grants written out below. A changed row, a new
role or a new action fails here until this list says what it grants. The officer is walked
twice: as most are (reading and reporting only), and standing in for its ward's missing
coordinator (invited with ``--decide``, its ward without a coordinator now)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.permissions import (
    ADMIN,
    COLUMNS,
    COORDINATOR,
    NONE,
    OFFICER,
    ROLES,
    VERIFIER,
    Action,
    Scope,
    allowed,
    home_text,
    org_bound,
    role_label,
    role_name,
    scope_of,
    signed_unnamed,
    signs_for_ward,
    stands_in,
    ward_bound,
)
from bot.domain.records import Staff
from bot.domain.usecases.roles import Role

OWN, OTHER = "11383", "11311"  # Phường Lê Chân, Phường Hồng Bàng
A = Action
STANDING_IN = "officer standing in"  # an officer with --decide, its ward without a coordinator
# (role, action, where) for every grant; "own": the account's ward, "other": another ward.
# A role held for the city is granted both; a ward's role its own only; ``none`` nothing.
GRANTED = {
    (COORDINATOR, A.WEB_CONSOLE, "own"), (COORDINATOR, A.QUEUE, "own"),
    (COORDINATOR, A.REVIEW, "own"), (COORDINATOR, A.DECIDE, "own"),
    (COORDINATOR, A.CITIZENS, "own"), (COORDINATOR, A.REPORT, "own"),
    (COORDINATOR, A.EXPORT, "own"), (COORDINATOR, A.LISTS, "own"),
    (COORDINATOR, A.BROADCAST, "own"),
    (OFFICER, A.WEB_CONSOLE, "own"), (OFFICER, A.CITIZENS, "own"),
    (OFFICER, A.REPORT, "own"), (OFFICER, A.EXPORT, "own"), (OFFICER, A.LISTS, "own"),
    (STANDING_IN, A.WEB_CONSOLE, "own"), (STANDING_IN, A.CITIZENS, "own"),
    (STANDING_IN, A.REPORT, "own"), (STANDING_IN, A.EXPORT, "own"),
    (STANDING_IN, A.LISTS, "own"),
    (STANDING_IN, A.QUEUE, "own"), (STANDING_IN, A.REVIEW, "own"), (STANDING_IN, A.DECIDE, "own"),
    # an organisation's verifier: its organisation's people, wherever they live
    (VERIFIER, A.VERIFY, "own"), (VERIFIER, A.VERIFY, "other"),
    (ADMIN, A.WEB_CONSOLE, "own"), (ADMIN, A.WEB_CONSOLE, "other"),
    (ADMIN, A.QUEUE, "own"), (ADMIN, A.QUEUE, "other"),
    (ADMIN, A.REVIEW, "own"), (ADMIN, A.REVIEW, "other"),
    (ADMIN, A.DECIDE, "own"), (ADMIN, A.DECIDE, "other"),
    (ADMIN, A.CITIZENS, "own"), (ADMIN, A.CITIZENS, "other"),
    (ADMIN, A.REPORT, "own"), (ADMIN, A.REPORT, "other"),
    (ADMIN, A.EXPORT, "own"), (ADMIN, A.EXPORT, "other"),
    (ADMIN, A.LISTS, "own"), (ADMIN, A.LISTS, "other"),
    (ADMIN, A.BROADCAST, "own"), (ADMIN, A.BROADCAST, "other"),
    (ADMIN, A.OTHERS_BROADCASTS, "own"), (ADMIN, A.OTHERS_BROADCASTS, "other"),
    (ADMIN, A.LIST_STAFF, "own"), (ADMIN, A.LIST_STAFF, "other"),
    (ADMIN, A.INVITE, "own"), (ADMIN, A.INVITE, "other"),
    (ADMIN, A.REVOKE, "own"), (ADMIN, A.REVOKE, "other"),
    (ADMIN, A.CHANNELS, "own"), (ADMIN, A.CHANNELS, "other"),
}  # fmt: skip
# Where each role may act with no ward named (``allowed(role, action)``, ``scope_of``).
SCOPES: dict[str, dict[Action, frozenset[str] | None]] = {
    NONE: {action: frozenset() for action in Action},
    COORDINATOR: {
        action: frozenset({OWN})
        if action
        not in (A.OTHERS_BROADCASTS, A.LIST_STAFF, A.INVITE, A.REVOKE, A.CHANNELS, A.VERIFY)
        else frozenset()
        for action in Action
    },
    # the city, but never an organisation's confirmation (its own verifiers give it)
    ADMIN: {action: None if action is not A.VERIFY else frozenset() for action in Action},
    OFFICER: {
        action: frozenset({OWN})
        if action in (A.WEB_CONSOLE, A.CITIZENS, A.REPORT, A.EXPORT, A.LISTS)
        else frozenset()
        for action in Action
    },
    STANDING_IN: {
        action: frozenset({OWN})
        if action
        in (A.WEB_CONSOLE, A.CITIZENS, A.REPORT, A.EXPORT, A.LISTS, A.QUEUE, A.REVIEW, A.DECIDE)
        else frozenset()
        for action in Action
    },
}
SCOPES[VERIFIER] = {action: frozenset() for action in Action}  # no ward: its organisation
HOLDERS = [NONE, COORDINATOR, ADMIN, OFFICER, STANDING_IN, VERIFIER]
LABELS = {
    NONE: None,
    COORDINATOR: "staff.role.coordinator",
    ADMIN: "staff.role.admin",
    OFFICER: "staff.role.officer",
    VERIFIER: "staff.role.verifier",
}
HOMES = {NONE: None, COORDINATOR: "staff.home", ADMIN: "staff.home.admin"}
HOMES[OFFICER] = "staff.home.officer"
HOMES[VERIFIER] = "staff.home.verifier"
UNNAMED = {COORDINATOR: "note.by.unnamed", OFFICER: "note.by.officer", ADMIN: "note.by.city"}


def holder(
    name: str, wards: frozenset[str] = frozenset({OWN}), revoked_at: datetime | None = None
) -> Role:
    """An account whose record holds role ``name`` for ``wards`` (the ward ``OWN``); for
    ``STANDING_IN``, an officer who may decide and whose ward has no coordinator now."""
    role = OFFICER if name == STANDING_IN else name
    record = Staff(
        1, "test", role, role, wards, revoked_at=revoked_at, decides=True,
        org_id=7 if role == VERIFIER else None,
    )  # fmt: skip
    stand_in = wards if name == STANDING_IN else frozenset()
    return Role(record.account, record, admin=False, stand_in=stand_in)


def test_the_table_has_these_roles_and_these_actions() -> None:
    assert set(ROLES) == {NONE, COORDINATOR, OFFICER, VERIFIER, ADMIN}
    assert tuple(Action) == COLUMNS  # one column per action, in the enum's order


def test_every_role_action_and_ward_is_granted_as_written() -> None:
    granted = {
        (name, action, where)
        for name in HOLDERS
        for action in Action
        for where, ward in (("own", OWN), ("other", OTHER))
        if allowed(holder(name), action, ward)
    }
    assert granted == GRANTED


@pytest.mark.parametrize("name", HOLDERS)
def test_without_a_ward_each_role_acts_where_its_row_says(name: str) -> None:
    account = holder(name)
    row = OFFICER if name == STANDING_IN else name
    assert role_name(account) == row
    for action in Action:
        expected = SCOPES[name][action]
        assert scope_of(account, action) == expected, action
        by_org = name == VERIFIER and action is A.VERIFY  # no ward scope: its organisation
        assert allowed(account, action) == (expected is None or bool(expected) or by_org), action
    assert (label.key if (label := role_label(row)) else None) == LABELS[row]
    assert (home.key if (home := home_text(account)) else None) == HOMES[row]
    assert ward_bound(row) == (row in (COORDINATOR, OFFICER))
    assert org_bound(row) == (row == VERIFIER)
    assert stands_in(row) == (row == OFFICER)  # only an officer can be given --decide
    # only a coordinator's decision is the ward's own (the letter and the notice say so)
    assert signs_for_ward(row) == (row == COORDINATOR)
    assert signed_unnamed(row).key == UNNAMED.get(row, "note.by.city")


def test_an_officer_standing_in_decides_only_in_the_wards_without_a_coordinator() -> None:
    """Of an officer's two wards, one has a coordinator now: it decides in the other alone,
    and reads and reports in both."""
    record = Staff(1, "test", OFFICER, OFFICER, frozenset({OWN, OTHER}), decides=True)
    officer = Role(record.account, record, admin=False, stand_in=frozenset({OTHER}))
    assert allowed(officer, A.DECIDE, OTHER) and not allowed(officer, A.DECIDE, OWN)
    assert scope_of(officer, A.QUEUE) == frozenset({OTHER})
    assert scope_of(officer, A.REPORT) == frozenset({OWN, OTHER})
    assert not allowed(officer, A.BROADCAST, OWN) and not allowed(officer, A.INVITE)


def test_what_an_account_holds_now_decides_its_row() -> None:
    configured = Role("test:boss", None, admin=True)  # CDHT_ADMINS, no record
    assert role_name(configured) == ADMIN and scope_of(configured, A.REVOKE) is None
    revoked = holder(COORDINATOR, revoked_at=datetime.now(UTC))
    no_ward = holder(COORDINATOR, wards=frozenset())
    unknown = holder("district")  # a role no row names grants nothing
    citizen = Role("test:citizen", None, admin=False)
    for account in (revoked, no_ward, unknown, citizen):
        assert role_name(account) == NONE
        assert not any(allowed(account, action, OWN) for action in Action)
        assert all(scope_of(account, action) == frozenset() for action in Action)
        assert home_text(account) is None
    assert ROLES[COORDINATOR].scope(A.INVITE) is Scope.NONE
