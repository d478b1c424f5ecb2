"""The campaign's records: citizens, their consents and declarations, staff, invitations,
broadcasts, evidence files; plain frozen dataclasses, no ORM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "REMINDER_EVENTS",
    "Broadcast",
    "Citizen",
    "CitizenChange",
    "Consent",
    "Declaration",
    "DeclarationEvent",
    "EvidenceFile",
    "IndicatorAnswer",
    "Invitation",
    "NewCitizen",
    "Org",
    "OrgVerification",
    "Received",
    "ReminderStep",
    "Staff",
    "WebSession",
]


@dataclass(frozen=True, slots=True)
class Org:
    """A school, agency or enterprise the admins keep, which citizens name as their workplace
    or school and whose verifiers confirm their declarations."""

    id: int
    name: str
    ward_code: str


@dataclass(frozen=True, slots=True)
class OrgVerification:
    """An organisation's confirmation of a declaration in one review round."""

    declaration_id: int
    org_id: int
    org_name: str
    actor: str  # channel:id of the verifier
    round: int
    created_at: datetime


REMINDER_EVENTS = ("registered", "idle", "returned")  # what a reminder step counts days from


@dataclass(frozen=True, slots=True)
class ReminderStep:
    """A campaign step: remind citizens ``days`` after ``event`` if they have not acted
    (registered: not started; idle: a draft untouched; returned: not resubmitted)."""

    id: int
    event: str
    days: int
    active: bool = True


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
    org_id: int | None = None  # the organisation named as workplace or school (`orgs`)


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
    assigned_to: int | None = None  # the reviewer it was given to (None: the ward's pool)
    assigned_at: datetime | None = None


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
    decides: bool = False  # an officer who stands in for a missing coordinator (`--decide`)
    capacity: int | None = None  # open declarations it is given at most (None: the default)
    away_since: datetime | None = None  # `/away`: given no new declarations until `/away off`
    org_id: int | None = None  # an organisation verifier's organisation

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
    decides: bool = False  # an officer's: stands in for a missing coordinator
    org_id: int | None = None  # an organisation verifier's: its organisation


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


@dataclass(frozen=True, slots=True)
class WebSession:
    account: str  # channel:id of the staff account that signed in
    csrf: str
    created_at: datetime
    last_seen: datetime
