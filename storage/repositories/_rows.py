"""Rows into the plain records of ``bot.engine.ports``, shared by the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping

from bot.domain.records import (
    Broadcast,
    Citizen,
    Consent,
    Declaration,
    Invitation,
    NewCitizen,
    Staff,
)
from bot.engine.ports import Identity, OutboxMessage, OutboxRow
from storage.models import citizens, declarations, identities


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _identity(row: RowMapping) -> Identity:
    menu = row["menu"]
    return Identity(
        row["id"],
        row["channel"],
        row["external_id"],
        row["citizen_id"],
        row["locale"],
        row["opted_out_at"] is not None,
        row["unreachable_at"] is not None,
        tuple((str(item[0]), str(item[1]), str(item[2])) for item in menu) if menu else None,
    )


_CITIZEN_COLUMNS = {
    "full_name": "full_name",
    "birth_year": "birth_year",
    "gender": "gender",
    "phone": "phone",
    "group": "target_group",
    "ward_code": "ward_code",
    "ward_name": "ward_name",
    "ward_data_version": "ward_data_version",
    "residential_group": "residential_group",
    "workplace": "workplace",
    "guardian_consent": "guardian_consent",
    "channel": "channel",
    "locale": "locale",
    "org_id": "org_id",
}


def _citizen_values(citizen: NewCitizen) -> dict[str, Any]:
    fields = asdict(citizen)
    return {column: fields[name] for name, column in _CITIZEN_COLUMNS.items()}


def _citizen(row: RowMapping) -> Citizen:
    return Citizen(
        **{name: row[column] for name, column in _CITIZEN_COLUMNS.items()},
        id=row["id"],
        registered_at=_aware(row["registered_at"]),
        updated_at=_aware(row["updated_at"]),
    )


def _consent(row: RowMapping) -> Consent:
    accepted = _aware(row["accepted_at"])
    assert accepted is not None
    return Consent(
        row["id"],
        row["citizen_id"],
        row["notice_version"],
        tuple(row["purposes"]),
        accepted,
        _aware(row["withdrawn_at"]),
        row["channel"],
        row["guardian_name"],
        row["guardian_relation"],
    )


def _declaration(row: RowMapping) -> Declaration:
    return Declaration(
        row["id"],
        row["citizen_id"],
        row["year"],
        row["criteria_set"],
        row["status"],
        _aware(row["created_at"]),  # type: ignore[arg-type]
        _aware(row["updated_at"]),  # type: ignore[arg-type]
        _aware(row["submitted_at"]),
        review_round=row["review_round"],
        claimed_by=row["claimed_by"],
        claimed_at=_aware(row["claimed_at"]),
        reviewer=row["reviewer"],
        decision=row["decision"],
        decision_reason=row["decision_reason"],
        decided_by=row["decided_by"],
        decided_at=_aware(row["decided_at"]),
        return_note=row["return_note"],
        reopened=tuple(row["reopened"] or ()),
        evidence_purged_at=_aware(row["evidence_purged_at"]),
        assigned_to=row["assigned_to"],
        assigned_at=_aware(row["assigned_at"]),
    )


_EVIDENCE_FIELDS = (
    "declaration_id",
    "indicator",
    "kind",
    "mime_type",
    "size",
    "sha256",
    "original_name",
    "channel",
    "channel_file_id",
)


def _staff(row: RowMapping, wards: Sequence[str]) -> Staff:
    return Staff(
        row["id"],
        row["channel"],
        row["external_id"],
        row["role"],
        frozenset(wards),
        _aware(row["revoked_at"]),
        row["invited_by"],
        row["display_name"],
        row["phone"],
        bool(row["decides"]),
        row["capacity"],
        _aware(row["away_since"]),
        row["org_id"],
    )


def _invitation(row: RowMapping | None) -> Invitation | None:
    if row is None:
        return None
    return Invitation(
        row["id"],
        row["role"],
        tuple(row["wards"]),
        row["created_by"],
        _aware(row["expires_at"]),  # type: ignore[arg-type]
        _aware(row["used_at"]),
        bool(row["decides"]),
        row["org_id"],
    )


def _outbox_row(row: RowMapping) -> OutboxRow:
    message = OutboxMessage(
        row["channel"],
        row["external_id"],
        dict(row["payload"]),
        row["kind"],
        row["priority"],
        row["dedupe_key"],
        _aware(row["not_before"]),
        row["citizen_id"],
    )
    return OutboxRow(row["id"], message, row["attempts"], row["status"])


BULK_KINDS = ("broadcast", "reminder")


def _broadcast(row: RowMapping) -> Broadcast:
    return Broadcast(
        row["id"],
        row["text"],
        tuple((str(c[0]), c[1]) for c in row["choices"]),
        dict(row["audience"]),
        row["created_by"],
        _aware(row["created_at"]),  # type: ignore[arg-type]
        _aware(row["scheduled_at"]),  # type: ignore[arg-type]
        row["status"],
        row["recipients"],
    )


def _audience_query(audience: dict[str, Any]) -> Any:
    """The reachable, subscribed accounts of registered citizens that the filters select."""
    query = (
        select(identities.c.channel, identities.c.external_id)
        .select_from(identities.join(citizens, citizens.c.id == identities.c.citizen_id))
        .where(identities.c.unreachable_at.is_(None), identities.c.opted_out_at.is_(None))
    )
    if audience.get("wards"):
        query = query.where(citizens.c.ward_code.in_(list(audience["wards"])))
    if audience.get("group"):
        query = query.where(citizens.c.target_group == int(audience["group"]))
    if audience.get("channel"):
        query = query.where(identities.c.channel == audience["channel"])
    if audience.get("locale"):
        query = query.where(
            func.coalesce(identities.c.locale, citizens.c.locale) == audience["locale"]
        )
    status = audience.get("status")
    if status:
        joined = declarations.c.citizen_id == citizens.c.id
        if audience.get("year"):
            joined = joined & (declarations.c.year == int(audience["year"]))
        query = query.outerjoin(declarations, joined)
        if status == "not_started":
            query = query.where(declarations.c.id.is_(None))
        elif status == "in_progress":
            query = query.where(declarations.c.status == "draft")
        else:
            query = query.where(declarations.c.status == status)
    return query
