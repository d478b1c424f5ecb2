"""What the campaign's use cases need from storage: the repositories of its records, and the
unit of work that extends the engine's narrow one (updates, accounts, conversations, outbox)
with them. Protocols over plain records; storage implements them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from bot.domain.records import (
    Broadcast,
    Citizen,
    CitizenChange,
    Consent,
    Declaration,
    DeclarationEvent,
    EvidenceFile,
    IndicatorAnswer,
    Invitation,
    NewCitizen,
    Org,
    OrgVerification,
    Received,
    ReminderStep,
    Staff,
    WebSession,
)
from bot.engine.ports import Identity, IdentityRepository, Lease
from bot.engine.ports import UnitOfWork as ConversationUnitOfWork

__all__ = [
    "AccountRepository",
    "BroadcastRepository",
    "CitizenRepository",
    "ConsentRepository",
    "DeclarationRepository",
    "StaffRepository",
    "Store",
    "UnitOfWork",
    "WebRepository",
]


class AccountRepository(IdentityRepository, Protocol):
    """The chat accounts as the campaign uses them: bound to a citizen, linked, opted out."""

    async def bind(self, identity_id: int, citizen_id: int) -> None: ...

    async def delete_for_citizen(self, citizen_id: int) -> None: ...

    async def for_citizen(self, citizen_id: int) -> Sequence[Identity]: ...

    async def set_opt_out(self, identity_id: int, when: datetime | None) -> None: ...

    async def add_link_code(
        self, code_hash: str, citizen_id: int, issued_by: str, now: datetime, expires_at: datetime
    ) -> None: ...

    async def use_link_code(self, code_hash: str, used_by: str, now: datetime) -> int | None:
        """Mark a valid (unused, unexpired) link code used, atomically; the citizen it links
        to, or None (unknown, used, expired, or lost to a racing use)."""


class CitizenRepository(Protocol):
    async def get(self, citizen_id: int) -> Citizen | None: ...

    async def create(self, citizen: NewCitizen, now: datetime) -> Citizen: ...

    async def update(self, citizen_id: int, changes: NewCitizen, now: datetime) -> Citizen: ...

    async def list(self, wards: str | Collection[str] | None = None) -> Sequence[Citizen]:
        """Citizens of one unit's code, of several, or of all (None)."""

    async def count(self, wards: Collection[str] | None = None) -> int: ...

    async def counts_by_unit(
        self, wards: Collection[str] | None = None
    ) -> Sequence[tuple[str, int, int]]:
        """(unit code, target group, citizens): one grouped query."""

    async def without_declaration(
        self, year: int, wards: Collection[str] | None = None
    ) -> Sequence[Citizen]:
        """Citizens registered with no declaration of ``year``, by unit."""

    async def search(
        self, text: str, wards: Collection[str] | None, limit: int = 50
    ) -> Sequence[Citizen]:
        """Citizens whose name contains ``text`` (case aside) or whose phone contains its
        digits (four or more), in these wards (None: all)."""

    async def page(
        self, wards: Collection[str] | None, after_id: int, size: int
    ) -> Sequence[Citizen]:
        """Up to ``size`` citizens with ids above ``after_id``, in id order (for streaming)."""

    async def delete(self, citizen_id: int) -> None:
        """Erase the citizen; their consents go with them."""

    async def not_started(
        self, year: int, registered_before: datetime, reminded_prefix: str
    ) -> Sequence[Citizen]:
        """Citizens registered before a time, with no declaration for ``year`` and no outbox
        row keyed ``{reminded_prefix}{citizen id}:{year}:…`` yet (found in the database)."""

    async def record_changes(
        self,
        citizen_id: int,
        changes: Sequence[tuple[str, str | None, str | None]],
        actor: str,
        now: datetime,
    ) -> None:
        """Append (field, old value, new value) corrections."""

    async def changes(self, citizen_id: int) -> Sequence[CitizenChange]: ...


class ConsentRepository(Protocol):
    async def record(
        self,
        citizen_id: int,
        notice_version: str,
        purposes: Sequence[str],
        accepted_at: datetime,
        channel: str,
        guardian_name: str | None = None,
        guardian_relation: str | None = None,
    ) -> Consent: ...

    async def for_citizen(self, citizen_id: int) -> Sequence[Consent]: ...

    async def withdraw(self, citizen_id: int, purpose: str, when: datetime) -> int:
        """Mark the citizen's consents to one purpose withdrawn; how many there were."""

    async def latest_by_citizen(
        self, citizen_ids: tuple[int, int] | None = None
    ) -> dict[int, Consent]:
        """Every citizen's latest consent, in one query (for exports)."""


class DeclarationRepository(Protocol):
    async def for_year(self, citizen_id: int, year: int) -> Declaration | None: ...

    async def of_citizen(self, citizen_id: int) -> Sequence[Declaration]:
        """All years' declarations of one citizen."""

    async def latest(self, citizen_id: int) -> Declaration | None: ...

    async def create(
        self, citizen_id: int, year: int, criteria_set: str, now: datetime
    ) -> Declaration: ...

    async def answers(self, declaration_id: int) -> dict[int, IndicatorAnswer]: ...

    async def set_score(
        self, declaration_id: int, indicator: int, score: int | None, now: datetime
    ) -> None: ...

    async def set_note(
        self, declaration_id: int, indicator: int, note: str | None, now: datetime
    ) -> None: ...

    async def set_status(self, declaration_id: int, status: str, now: datetime) -> None: ...

    async def add_evidence(self, evidence: EvidenceFile, now: datetime) -> bool:
        """False when this file is already attached to this indicator."""

    async def evidence(self, declaration_id: int) -> Sequence[EvidenceFile]: ...

    async def blob_in_use(self, sha256: str) -> bool: ...

    async def all_blobs(self) -> set[str]: ...

    async def list(
        self, year: int | None = None, citizen_ids: tuple[int, int] | None = None
    ) -> Sequence[Declaration]:
        """Declarations (of ``year``; of citizens with ids in the inclusive span)."""

    async def get(self, declaration_id: int) -> Declaration | None: ...

    async def claim(
        self, declaration_id: int, staff_id: int, now: datetime, stale_before: datetime
    ) -> int | None:
        """Take the review unless someone else holds a fresh claim; the holder's id after."""

    async def release(self, declaration_id: int, staff_id: int) -> None: ...

    async def update(self, declaration_id: int, now: datetime, **fields: Any) -> None:
        """Set review fields (status, decision, reopened, …) of a declaration."""

    async def set_verified(
        self, declaration_id: int, indicator: int, score: int | None, reason: str | None
    ) -> None: ...

    async def add_event(self, event: DeclarationEvent) -> None: ...

    async def events(self, declaration_id: int) -> Sequence[DeclarationEvent]: ...

    async def event_counts(self, citizen_ids: tuple[int, int] | None = None) -> dict[int, int]: ...

    async def idle_drafts(
        self, year: int, touched_before: datetime, touched_after: datetime
    ) -> Sequence[tuple[Declaration, int]]:
        """Drafts of ``year`` last changed in a time span, each with its scored indicators."""

    async def status_counts(self, year: int, wards: Collection[str] | None) -> dict[str, int]:
        """Declarations of ``year`` by status, for citizens of these wards (None: all)."""

    async def pending(self, wards: frozenset[str] | None) -> Sequence[tuple[Declaration, Citizen]]:
        """Submitted declarations of these wards (None: all), oldest submission first."""

    async def assign(self, declaration_id: int, staff_id: int | None, now: datetime) -> None:
        """Give a declaration to a reviewer (None: back to the ward's pool)."""

    async def review_events(
        self, wards: Collection[str] | None, year: int | None = None
    ) -> Sequence[tuple[int, str, DeclarationEvent]]:
        """Every status change of the declarations of these wards' citizens (None: all) of
        ``year`` (None: every year), with each declaration's ward, in order."""

    async def open_load(self, staff_ids: Collection[int]) -> dict[int, tuple[int, datetime | None]]:
        """For each reviewer given anything: how many of its declarations wait (submitted) and
        when it was last given one."""

    async def of_org(
        self, org_id: int, statuses: Sequence[str]
    ) -> Sequence[tuple[Declaration, Citizen]]:
        """Declarations in these states of citizens who named the organisation, oldest
        submission first."""

    async def returned_idle(
        self, year: int, returned_before: datetime, returned_after: datetime
    ) -> Sequence[Declaration]:
        """Declarations of ``year`` returned for more and not resubmitted, last changed within
        (``returned_after``, ``returned_before``]."""

    async def assigned_open(
        self, staff_id: int | None = None, assigned_before: datetime | None = None
    ) -> Sequence[tuple[Declaration, Citizen]]:
        """Submitted declarations given to a reviewer (``staff_id``: that one), given before
        ``assigned_before``, the longest given first."""

    async def with_status(
        self,
        statuses: Sequence[str],
        wards: Collection[str] | None,
        year: int | None = None,
        submitted_before: datetime | None = None,
    ) -> Sequence[tuple[Declaration, Citizen]]:
        """Declarations in these statuses with their citizens, oldest submission first."""

    async def counts_by_unit(
        self, year: int, wards: Collection[str] | None
    ) -> Sequence[tuple[str, int, str, int]]:
        """(unit code, target group, status, declarations) of ``year``: one grouped query."""

    async def recognised_with(
        self, year: int, wards: Collection[str] | None, indicator: int, min_score: int
    ) -> dict[str, int]:
        """Recognised declarations of ``year`` by unit whose ``indicator`` (the verified score,
        else the citizen's) is at least ``min_score``."""

    async def answers_by_declaration(
        self, year: int | None = None, citizen_ids: tuple[int, int] | None = None
    ) -> dict[int, dict[int, IndicatorAnswer]]:
        """Every declaration's answers with evidence counts, in two queries (for exports)."""

    async def purge_evidence(self, decided_before: datetime, now: datetime) -> int:
        """Delete the evidence records of declarations decided before ``decided_before`` (the
        retention rule: scores and decisions stay); how many declarations lost theirs."""


class StaffRepository(Protocol):
    async def by_account(self, channel: str, external_id: str) -> Staff | None: ...

    async def get(self, staff_id: int) -> Staff | None: ...

    async def for_ward(self, ward_code: str) -> Sequence[Staff]:
        """Active coordinators of a ward."""

    async def coordinated(self, wards: Iterable[str]) -> frozenset[str]:
        """Those of the wards that have an active coordinator now."""

    async def stand_ins(self, ward_code: str) -> Sequence[Staff]:
        """Active officers of a ward who may decide where it has no coordinator."""

    async def officers(self, ward_code: str) -> Sequence[Staff]:
        """Active officers who follow a ward, those of fewer wards first (a district's before
        the city's)."""

    async def lock(self, staff_ids: Collection[int]) -> None:
        """Hold these records until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite's
        writer is one at a time), so that two assignments at once see each other's."""

    async def set_capacity(self, staff_id: int, capacity: int | None) -> bool:
        """How many open declarations the reviewer is given at most (None: the default);
        False when there is no such active record."""

    async def set_away(self, staff_id: int, since: datetime | None) -> None: ...

    async def admins(self) -> Sequence[Staff]:
        """Active admins made by an admin invitation (those of CDHT_ADMINS are configuration)."""

    async def all(self) -> Sequence[Staff]: ...

    async def redeem(
        self,
        channel: str,
        external_id: str,
        role: str,
        wards: Sequence[str],
        invited_by: str,
        now: datetime,
        decides: bool = False,
        org_id: int | None = None,
    ) -> Staff:
        """Give an account an invitation's role and wards (the only way a role is made);
        ``decides``: an officer's standing in for a missing coordinator; ``org_id``: a
        verifier's organisation."""

    async def record(self, channel: str, external_id: str, now: datetime) -> int:
        """The id of the account's staff record, made with role ``none`` (granting nothing)
        when it has none, so that a configured admin's claims and decisions name someone.
        Never changes an existing record."""

    async def revoke(self, staff_id: int, now: datetime) -> bool:
        """Take an active role away, release the reviews the account holds and put what it
        was given and has not decided back in its ward's pool."""

    async def set_profile(
        self, staff_id: int, display_name: str | None, phone: str | None
    ) -> None: ...

    async def create_invitation(
        self,
        code_hash: str,
        role: str,
        wards: Sequence[str],
        created_by: str,
        now: datetime,
        expires_at: datetime,
        decides: bool = False,
        org_id: int | None = None,
    ) -> int: ...

    async def invitation(self, code_hash: str) -> Invitation | None: ...

    async def consume_invitation(self, code_hash: str, now: datetime) -> Invitation | None:
        """Mark a valid (unused, unexpired) invitation used, atomically; None when there is
        none to use, whoever raced for it."""

    async def set_used_by(self, invitation_id: int, staff_id: int) -> None: ...

    async def failures(self, channel: str, external_id: str) -> tuple[int, datetime | None]: ...

    async def set_failures(
        self,
        channel: str,
        external_id: str,
        failures: int,
        locked_until: datetime | None,
        now: datetime,
    ) -> None: ...

    async def forget_attempts(self, older_than: datetime) -> int:
        """Forget wrong-code counters last touched before ``older_than``; how many."""


class BroadcastRepository(Protocol):
    async def steps(self) -> Sequence[ReminderStep]:
        """The reminder steps, by event then days."""

    async def add_step(self, event: str, days: int, by: str, now: datetime) -> ReminderStep | None:
        """A new step; None when one for that event and day count exists."""

    async def set_step(
        self, step_id: int, days: int | None, active: bool | None, by: str, now: datetime
    ) -> bool:
        """Change a step's days or turn it on or off; False when there is no such step or
        another step of its event has those days."""

    async def create(
        self,
        text: str,
        choices: Sequence[tuple[str, Any]],
        audience: dict[str, Any],
        created_by: str,
        now: datetime,
        scheduled_at: datetime,
    ) -> Broadcast: ...

    async def get(self, broadcast_id: int) -> Broadcast | None: ...

    async def due(self, now: datetime) -> Sequence[Broadcast]: ...

    async def count_audience(self, audience: dict[str, Any]) -> int: ...

    async def enqueue(self, broadcast: Broadcast, priority: int, now: datetime) -> int:
        """One outbox row per reachable, subscribed account of the audience, in one statement;
        marks the broadcast queued with its number of recipients."""

    async def cancel(self, broadcast_id: int) -> int:
        """Cancel a broadcast and its rows not sent yet; how many were withdrawn."""

    async def report(self, broadcast_id: int) -> dict[str, int]:
        """The broadcast's messages by outcome: sent, template, pending, rate_limited, blocked,
        unreachable, not_in_window, template_quota, cancelled, failed."""

    async def report_by_ward(self, broadcast_id: int) -> dict[str | None, dict[str, int]]:
        """The same, for each recipient's ward (None: an account erased since)."""

    async def requeue(self, broadcast_id: int, outcomes: Collection[str], now: datetime) -> int:
        """Send again, now, the broadcast's failed messages with these outcomes; how many."""

    async def audience_accounts(self, audience: dict[str, Any], channel: str) -> list[str]:
        """The external ids the audience reaches on ``channel``."""

    async def received(self, accounts: Sequence[tuple[str, str]]) -> Sequence[Received]:
        """Campaign messages (broadcasts, reminders) queued or sent to these accounts."""


class WebRepository(Protocol):
    """The web console's one-time sign-in links and sessions; only hashes are stored."""

    async def add_sign_in(
        self, token_hash: str, account: str, now: datetime, expires_at: datetime
    ) -> None: ...

    async def use_sign_in(self, token_hash: str, now: datetime) -> str | None:
        """Mark a valid link used, atomically; its account, or None (unknown, used, expired)."""

    async def add_session(self, id_hash: str, account: str, csrf: str, now: datetime) -> None: ...

    async def session(self, id_hash: str) -> WebSession | None:
        """A session not ended (whatever its age: the caller applies the idle limit)."""

    async def touch(self, id_hash: str, now: datetime) -> None: ...

    async def end(self, id_hash: str, now: datetime) -> None: ...


class OrgRepository(Protocol):
    async def add(self, name: str, ward_code: str, by: str, now: datetime) -> Org | None:
        """A new organisation; None when one of that name exists in that ward."""

    async def all(self) -> Sequence[Org]: ...

    async def get(self, org_id: int) -> Org | None: ...

    async def verify(
        self, declaration_id: int, org_id: int, actor: str, review_round: int, now: datetime
    ) -> bool:
        """Record the organisation's confirmation for this round; False when it was given."""

    async def verifications(self, declaration_id: int) -> Sequence[OrgVerification]: ...


class UnitOfWork(ConversationUnitOfWork, Protocol):
    """One database transaction, as the use cases see it: the engine's repositories (with the
    accounts as the campaign uses them) and the campaign's own."""

    @property
    def identities(self) -> AccountRepository: ...

    @property
    def citizens(self) -> CitizenRepository: ...

    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def declarations(self) -> DeclarationRepository: ...

    @property
    def web(self) -> WebRepository: ...

    @property
    def staff(self) -> StaffRepository: ...

    @property
    def broadcasts(self) -> BroadcastRepository: ...

    @property
    def orgs(self) -> OrgRepository: ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork, bool | None]: ...

    async def try_lease(self, name: str) -> Lease | None:
        """The lease called ``name`` if no other process holds it; None otherwise."""

    @property
    def shared(self) -> bool:
        """Whether several processes may use this database at once (PostgreSQL)."""
