"""One record per citizen and campaign year, for the association's spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain.criteria import CriteriaSet
from bot.domain.ports import Store, UnitOfWork
from bot.domain.records import Citizen, Consent, Declaration, IndicatorAnswer
from bot.domain.usecases.roles import staff_names

__all__ = [
    "EXPORT_FIELDS",
    "collect_records",
    "export_records",
    "record_pages",
    "render_csv",
    "render_json",
    "spreadsheet_cell",
]

CITIZEN_FIELDS = (
    "id",
    "full_name",
    "birth_year",
    "gender",
    "phone",
    "group",
    "ward_code",
    "ward_name",
    "ward_data_version",
    "residential_group",
    "workplace",
    "channel",
    "registered_at",
    "updated_at",
    "locale",
    "consent_version",
    "consent_at",
)
DECLARATION_FIELDS = (
    "year",
    "declaration_status",
    "criteria_set",
    "scores",
    "evidence_count",
    "total",
    "provisional_result",
    "submitted_at",
    "verified_scores",
    "verified_total",
    "decision",
    "decided_by",
    "decided_by_name",
    "decided_at",
    "decision_reason",
    "review_rounds",
    "audit_events",
)
EXPORT_FIELDS = CITIZEN_FIELDS + DECLARATION_FIELDS


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _citizen(citizen: Citizen, consent: Consent | None) -> dict[str, Any]:
    return {
        "id": citizen.id,
        "full_name": citizen.full_name,
        "birth_year": citizen.birth_year,
        "gender": citizen.gender,
        "phone": citizen.phone,
        "group": citizen.group,
        "ward_code": citizen.ward_code,
        "ward_name": citizen.ward_name,
        "ward_data_version": citizen.ward_data_version,
        "residential_group": citizen.residential_group,
        "workplace": citizen.workplace,
        "channel": citizen.channel,
        "registered_at": _iso(citizen.registered_at),
        "updated_at": _iso(citizen.updated_at),
        "locale": citizen.locale,
        "consent_version": consent.notice_version if consent else None,
        "consent_at": _iso(consent.accepted_at) if consent else None,
    }


def _declaration(
    declaration: Declaration | None,
    answers: Mapping[int, IndicatorAnswer],
    criteria: Mapping[str, CriteriaSet],
    events: int = 0,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    if declaration is None:
        return dict.fromkeys(DECLARATION_FIELDS)
    scores = {str(i): a.score for i, a in sorted(answers.items()) if a.score is not None}
    result = None
    if declaration.criteria_set in criteria:
        evaluation = criteria[declaration.criteria_set].evaluate(
            {i: a.score for i, a in answers.items()}
        )
        result = (
            "incomplete"
            if not evaluation.complete
            else "recognised"
            if evaluation.recognised
            else "not_recognised"
        )
    return {
        "year": declaration.year,
        "declaration_status": declaration.status,
        "criteria_set": declaration.criteria_set,
        "scores": scores,
        "evidence_count": sum(a.evidence_count + (1 if a.note else 0) for a in answers.values()),
        "total": sum(scores.values()),
        "provisional_result": result,
        "submitted_at": _iso(declaration.submitted_at),
        **_verification(declaration, answers, events, names or {}),
    }


def _verification(
    declaration: Declaration,
    answers: Mapping[int, IndicatorAnswer],
    events: int,
    names: Mapping[str, str],
) -> dict[str, Any]:
    decided = declaration.decision is not None
    # adjusted before a return: the citizen resubmits those scores, and sees them, so the export
    # shows them too (the total the coordinator and the citizen read)
    adjusted = any(a.verified_score is not None for a in answers.values())
    # the scores the decision used (or will use): the citizen's, where none was adjusted
    verified = {
        str(i): a.verified_score if a.verified_score is not None else a.score
        for i, a in sorted(answers.items())
        if a.verified_score is not None or a.score is not None
    }
    return {
        "verified_scores": verified if decided or adjusted else None,
        "verified_total": (
            sum(v or 0 for v in verified.values()) if (decided or adjusted) and verified else None
        ),
        "decision": declaration.decision,
        "decided_by": declaration.decided_by,
        # the name the coordinator gave when redeeming their code, as citizens saw it
        "decided_by_name": names.get(declaration.decided_by or "", declaration.decided_by),
        "decided_at": _iso(declaration.decided_at),
        "decision_reason": declaration.decision_reason,
        "review_rounds": declaration.review_round,
        "audit_events": events,
    }


async def export_records(
    store: Store,
    criteria: Mapping[str, CriteriaSet],
    ward_code: str | None = None,
    year: int | None = None,
) -> list[dict[str, Any]]:
    """A record per citizen and declaration year; a citizen without one gets a single record
    with empty declaration fields. A handful of queries, whatever the number of citizens."""
    async with store.transaction() as uow:
        return await collect_records(
            uow, criteria, None if ward_code is None else {ward_code}, year
        )


async def collect_records(
    uow: UnitOfWork,
    criteria: Mapping[str, CriteriaSet],
    wards: Collection[str] | None = None,
    year: int | None = None,
) -> list[dict[str, Any]]:
    """The records of citizens of ``wards`` (None: all), inside the caller's transaction."""
    people = await uow.citizens.list(wards)
    return await _records(uow, criteria, people, year, None)


PAGE = 2000  # citizens read at a time by record_pages


async def record_pages(
    store: Store,
    criteria: Mapping[str, CriteriaSet],
    wards: Collection[str] | None = None,
    year: int | None = None,
    page: int = PAGE,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The records in pages of ``page`` citizens, each read in its own short transaction (five
    queries a page, bounded by an id span), so that exporting the province holds neither the
    whole of it in memory nor the database's write lock for long. A citizen registered during
    the export may be missed or not; none appears twice."""
    after = 0
    while True:
        async with store.transaction() as uow:
            people = await uow.citizens.page(wards, after, page)
            if not people:
                return
            span = (people[0].id, people[-1].id)
            found = await _records(uow, criteria, people, year, span)
        after = span[1]
        yield found


async def _records(
    uow: UnitOfWork,
    criteria: Mapping[str, CriteriaSet],
    people: Sequence[Citizen],
    year: int | None,
    span: tuple[int, int] | None,
) -> list[dict[str, Any]]:
    consents = await uow.consents.latest_by_citizen(span)
    by_citizen: dict[int, list[Declaration]] = {}
    for found in await uow.declarations.list(year, span):
        by_citizen.setdefault(found.citizen_id, []).append(found)
    answers = await uow.declarations.answers_by_declaration(year, span)
    events = await uow.declarations.event_counts(span)
    names = await staff_names(uow)
    records = []
    for citizen in people:
        base = _citizen(citizen, consents.get(citizen.id))
        declarations: list[Declaration | None] = list(by_citizen.get(citizen.id, [])) or [None]
        for declaration in declarations:
            given = answers.get(declaration.id, {}) if declaration else {}
            audit = events.get(declaration.id, 0) if declaration else 0
            records.append({**base, **_declaration(declaration, given, criteria, audit, names)})
    return records


def render_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def render_csv(records: Sequence[dict[str, Any]], indicators: Sequence[int] = range(1, 11)) -> str:
    """Scores become one column per indicator (``score_1`` …), for spreadsheets."""
    score_columns = [f"score_{i}" for i in indicators]
    verified_columns = [f"verified_{i}" for i in indicators]
    fields = [f for f in EXPORT_FIELDS if f not in ("scores", "verified_scores")]
    at = fields.index("evidence_count")
    fields[at:at] = score_columns
    at = fields.index("verified_total")
    fields[at:at] = verified_columns
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = {k: v for k, v in record.items() if k not in ("scores", "verified_scores")}
        scores = record.get("scores") or {}
        verified = record.get("verified_scores") or {}
        row.update({f"score_{i}": scores.get(str(i)) for i in indicators})
        row.update({f"verified_{i}": verified.get(str(i)) for i in indicators})
        writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
    return buffer.getvalue()


# OWASP, "CSV Injection": a cell that begins with one of these is read as a formula by Excel,
# LibreOffice and Google Sheets; a leading apostrophe makes it plain text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A value as a spreadsheet cell: empty for None, text neutralised against formulas."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
