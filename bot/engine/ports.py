"""What the engine needs from storage, as protocols over plain records (no ORM here)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "Broadcast",
    "BroadcastRepository",
    "Citizen",
    "CitizenChange",
    "CitizenRepository",
    "Consent",
    "ConsentRepository",
    "Conversation",
    "ConversationRepository",
    "Declaration",
    "DeclarationEvent",
    "DeclarationRepository",
    "EvidenceFile",
    "Identity",
    "IdentityRepository",
    "InboxItem",
    "IndicatorAnswer",
    "Invitation",
    "Lease",
    "NewCitizen",
    "OutboxMessage",
    "OutboxRepository",
    "OutboxRow",
    "Received",
    "Staff",
    "StaffRepository",
    "StorageUnavailable",
    "Store",
    "UnitOfWork",
    "UpdateRepository",
    "WebRepository",
    "WebSession",
]


class StorageUnavailable(Exception):
    """The database cannot be reached or written now (locked past its busy timeout, gone, a
    full disk): nothing was stored, and trying again later can succeed."""


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An update acknowledged to its platform and not handled yet: the channel's own JSON."""

    update_id: str
    user_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Identity:
    id: int
    channel: str
    external_id: str
    citizen_id: int | None
    locale: str | None
    opted_out: bool = False  # /stop: no broadcasts or reminders
    unreachable: bool = False  # the user blocked the bot
    # (id, label, means) of the menu last shown outside any step: a typed number answers it
    menu: tuple[tuple[str, str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A campaign message to an audience: filters over registered citizens' accounts."""

    id: int
    text: str
    choices: tuple[tuple[str, Any], ...]  # (command, label as Text JSON), e.g. ("/declare", …)
    audience: dict[str, Any]  # wards, group, status, channel, locale, year
    created_by: str
    created_at: datetime
    scheduled_at: datetime
    status: str  # scheduled, queued, cancelled
    recipients: int


@dataclass(frozen=True, slots=True)
class Conversation:
    identity_id: int
    flow: str
    step: str
    values: dict[str, Any] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    seq: int = 0  # increments with every prompt sent; buttons carry it


@dataclass(frozen=True, slots=True)
class NewCitizen:
    full_name: str
    birth_year: int
    gender: str | None
    phone: str
    group: int
    ward_code: str
    ward_name: str
    ward_data_version: str
    residential_group: str
    workplace: str | None
    guardian_consent: bool | None
    channel: str
    locale: str


@dataclass(frozen=True, slots=True)
class Citizen(NewCitizen):
    id: int = 0
    registered_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    id: int
    citizen_id: int
    notice_version: str
    purposes: tuple[str, ...]
    accepted_at: datetime
    withdrawn_at: datetime | None
    channel: str
    guardian_name: str | None = None  # for someone under 16: who agreed for them
    guardian_relation: str | None = None  # father, mother, grandparent, other


@dataclass(frozen=True, slots=True)
class Declaration:
    """One citizen's self-assessment for one campaign year, under one criteria set."""

    id: int
    citizen_id: int
    year: int
    criteria_set: str
    status: str  # draft, submitted, returned, recognised, not_recognised
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    review_round: int = 1
    claimed_by: int | None = None  # the staff member reviewing it now
    claimed_at: datetime | None = None
    reviewer: int | None = None  # the staff member who last returned or decided it
    decision: str | None = None  # approved, rejected
    decision_reason: str | None = None
    decided_by: str | None = None  # channel:id of the account
    decided_at: datetime | None = None
    return_note: str | None = None
    reopened: tuple[int, ...] = ()  # indicators returned to the citizen for more
    evidence_purged_at: datetime | None = None  # files deleted under the retention rule


@dataclass(frozen=True, slots=True)
class CitizenChange:
    """One corrected field of a profile: append-only."""

    field: str
    old_value: str | None
    new_value: str | None
    actor: str  # channel:id of the account that made it
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class Received:
    """A campaign message (broadcast or reminder) sent, or to be sent, to one account."""

    broadcast_id: int | None
    text: Any  # a broadcast's own text, or a reminder's text as JSON (``text_to_json``)
    status: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class IndicatorAnswer:
    indicator: int
    score: int | None
    note: str | None
    evidence_count: int = 0
    verified_score: int | None = None
    adjust_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DeclarationEvent:
    """One status change of a declaration: append-only."""

    declaration_id: int
    actor: str  # channel:id of the account, or "citizen"
    from_status: str
    to_status: str
    reason: str | None
    adjusted: dict[str, Any] | None
    round: int
    created_at: datetime
    id: int = 0


@dataclass(frozen=True, slots=True)
class Staff:
    id: int
    channel: str
    external_id: str
    role: str  # admin, coordinator, or none: a configured admin's record, granting nothing
    wards: frozenset[str]
    revoked_at: datetime | None = None
    invited_by: str | None = None
    display_name: str | None = None  # "Nguyễn Văn A, cán bộ Hội Khuyến học phường Lê Chân"
    phone: str | None = None  # for citizens to call, if the coordinator gave one

    @property
    def account(self) -> str:
        return f"{self.channel}:{self.external_id}"

    @property
    def shown_as(self) -> str:
        """How citizens and reports name this staff member."""
        return self.display_name or self.account


@dataclass(frozen=True, slots=True)
class Invitation:
    id: int
    role: str
    wards: tuple[str, ...]
    created_by: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message the bot sends on its own initiative, delivered after the commit."""

    channel: str
    external_id: str
    payload: dict[str, Any]  # {"text": Text as JSON, "choices": [...]} or {"file": {...}}
    kind: str = "notification"  # notification, broadcast, reminder
    priority: int = 0  # lower goes first
    dedupe_key: str | None = None
    not_before: datetime | None = None
    citizen_id: int | None = None  # the citizen it is about (erased with them)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    message: OutboxMessage
    attempts: int
    status: str  # pending, sent, failed


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    declaration_id: int
    indicator: int
    kind: str  # photo, document
    mime_type: str
    size: int
    sha256: str
    original_name: str | None
    channel: str
    channel_file_id: str
    id: int = 0


class UpdateRepository(Protocol):
    async def receive(self, channel: str, items: Sequence[InboxItem], now: datetime) -> list[str]:
        """Store updates in the inbox; the ids of those that were neither there nor handled."""

    async def backlog(self, channel: str, limit: int = 10_000) -> Sequence[InboxItem]:
        """The inbox of a channel, in the order the updates were received."""

    async def lock_user(self, channel: str, user_id: str) -> None:
        """Until this transaction ends, no other process handles this user's updates
        (PostgreSQL: an advisory transaction lock; SQLite has one writer already)."""

    async def earlier(self, channel: str, user_id: str, update_id: str) -> Sequence[InboxItem]:
        """This user's updates stored in the inbox before this one and not handled yet."""

    async def claim(self, channel: str, update_id: str) -> bool:
        """Record an update as handled and take it out of the inbox; False when it already
        was handled (a second delivery)."""

    async def prune(self, older_than: datetime) -> int: ...


class IdentityRepository(Protocol):
    async def get(self, channel: str, external_id: str) -> Identity | None: ...

    async def load(
        self, channel: str, external_id: str
    ) -> tuple[Identity | None, Citizen | None, Conversation | None]:
        """The account, its citizen and its conversation: what every update needs, at once."""

    async def create(self, channel: str, external_id: str, locale: str | None) -> Identity: ...

    async def set_locale(self, identity_id: int, locale: str) -> None: ...

    async def bind(self, identity_id: int, citizen_id: int) -> None: ...

    async def delete(self, identity_id: int) -> None: ...

    async def delete_for_citizen(self, citizen_id: int) -> None: ...

    async def for_citizen(self, citizen_id: int) -> Sequence[Identity]: ...

    async def set_opt_out(self, identity_id: int, when: datetime | None) -> None: ...

    async def mark_unreachable(self, channel: str, external_id: str, when: datetime) -> None: ...

    async def set_unreachable(self, identity_id: int, when: datetime | None) -> None:
        """Blocked (a time) or reachable again (None)."""

    async def set_menu(self, identity_id: int, menu: Sequence[tuple[str, str, str]] | None) -> None:
        """The menu just shown outside any step (a typed number answers it), or None."""

    async def add_link_code(
        self, code_hash: str, citizen_id: int, issued_by: str, now: datetime, expires_at: datetime
    ) -> None: ...

    async def use_link_code(self, code_hash: str, used_by: str, now: datetime) -> int | None:
        """Mark a valid (unused, unexpired) link code used, atomically; the citizen it links
        to, or None (unknown, used, expired, or lost to a racing use)."""


class ConversationRepository(Protocol):
    async def get(self, identity_id: int) -> Conversation | None: ...

    async def save(self, conversation: Conversation) -> None: ...

    async def delete(self, identity_id: int) -> None: ...

    async def in_flow(self, flow: str) -> Sequence[tuple[Identity, Conversation]]:
        """Every open conversation of one flow, with its account (a handful: staff's reviews)."""


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
    ) -> Staff:
        """Give an account an invitation's role and wards (the only way a role is made)."""

    async def record(self, channel: str, external_id: str, now: datetime) -> int:
        """The id of the account's staff record, made with role ``none`` (granting nothing)
        when it has none, so that a configured admin's claims and decisions name someone.
        Never changes an existing record."""

    async def revoke(self, staff_id: int, now: datetime) -> bool:
        """Take an active role away and release the reviews the account holds."""

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


class OutboxRepository(Protocol):
    async def enqueue(self, message: OutboxMessage, now: datetime) -> bool:
        """False when a message with the same dedupe key exists already."""

    async def add(self, message: OutboxMessage, now: datetime) -> int:
        """Store a message that has no dedupe key; its row id."""

    async def due(
        self,
        channel: str,
        now: datetime,
        limit: int,
        bulk: bool = True,
        external_id: str | None = None,
    ) -> Sequence[OutboxRow]:
        """Pending rows, urgent ones first; ``bulk=False`` leaves broadcasts and reminders;
        ``external_id`` only that account's (a console shows its own user's messages)."""

    async def mark_sent(self, row_id: int, now: datetime) -> None: ...

    async def delete(self, row_ids: Sequence[int]) -> None:
        """Forget rows (a reply once it is delivered)."""

    async def reschedule(self, row_ids: Sequence[int], not_before: datetime) -> None: ...

    async def release(self, kind: str, now: datetime) -> int:
        """Make the pending rows of ``kind`` that wait for a later time due now."""

    async def prune(self, kind: str, older_than: datetime) -> int:
        """Delete rows of ``kind`` that are no longer pending and older than a time."""

    async def postpone(self, row_id: int, not_before: datetime, error: str) -> None: ...

    async def fail(self, row_id: int, error: str) -> None: ...

    async def counts(self) -> dict[str, int]:
        """Rows by status."""

    async def erase(self, citizen_id: int, accounts: Sequence[tuple[str, str]]) -> int:
        """Delete the messages about a citizen and those to their accounts; a broadcast's rows
        already settled stay, for its report, with the account erased. The rows touched."""

    async def locales(self, row_ids: Sequence[int]) -> dict[int, str]:
        """Each row's recipient's language (the account's, else the citizen's), one query."""


class BroadcastRepository(Protocol):
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

    async def report(self, broadcast_id: int) -> dict[str, int]: ...

    async def received(self, accounts: Sequence[tuple[str, str]]) -> Sequence[Received]:
        """Campaign messages (broadcasts, reminders) queued or sent to these accounts."""


@dataclass(frozen=True, slots=True)
class WebSession:
    account: str  # channel:id of the staff account that signed in
    csrf: str
    created_at: datetime
    last_seen: datetime


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


class UnitOfWork(Protocol):
    """One database transaction: committed when the block ends cleanly, else rolled back."""

    @property
    def updates(self) -> UpdateRepository: ...

    @property
    def identities(self) -> IdentityRepository: ...

    @property
    def conversations(self) -> ConversationRepository: ...

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
    def outbox(self) -> OutboxRepository: ...

    @property
    def broadcasts(self) -> BroadcastRepository: ...


class Lease(Protocol):
    """Being the one process that does something (sending the outbox, running schedules)."""

    async def alive(self) -> bool:
        """Still held, as the database said after this call began (never an answer given
        before it); a lost database connection loses it, for good."""

    async def release(self) -> None: ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork, bool | None]: ...

    async def try_lease(self, name: str) -> Lease | None:
        """The lease called ``name`` if no other process holds it; None otherwise."""

    @property
    def shared(self) -> bool:
        """Whether several processes may use this database at once (PostgreSQL)."""
