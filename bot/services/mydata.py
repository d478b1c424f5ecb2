"""Everything stored about a citizen, for ``/mydata`` (Law 91/2025/QH15: the right to see
and to take away one's data): profile, accounts, consents with their versions and times,
corrections, declarations with scores, notes, evidence list, decisions and their history, and
the campaign messages sent to them."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen
from bot.domain.usecases.roles import staff_names

__all__ = ["citizen_data", "render_json"]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


async def citizen_data(uow: UnitOfWork, citizen: Citizen) -> dict[str, Any]:
    """A JSON-ready account of the citizen's data, read in the caller's transaction."""
    names = await staff_names(uow)
    accounts = await uow.identities.for_citizen(citizen.id)
    profile = {
        key: value
        for key, value in asdict(citizen).items()
        if key not in ("id", "registered_at", "updated_at")
    }
    declarations = []
    for declaration in await uow.declarations.of_citizen(citizen.id):
        answers = await uow.declarations.answers(declaration.id)
        files = await uow.declarations.evidence(declaration.id)
        events = await uow.declarations.events(declaration.id)
        declarations.append(
            {
                "year": declaration.year,
                "status": declaration.status,
                "criteria_set": declaration.criteria_set,
                "created_at": _iso(declaration.created_at),
                "submitted_at": _iso(declaration.submitted_at),
                "answers": [
                    {
                        "indicator": number,
                        "score": answer.score,
                        "note": answer.note,
                        "verified_score": answer.verified_score,
                        "adjust_reason": answer.adjust_reason,
                    }
                    for number, answer in sorted(answers.items())
                ],
                "evidence": [
                    {
                        "indicator": item.indicator,
                        "kind": item.kind,
                        "mime_type": item.mime_type,
                        "size": item.size,
                        "name": item.original_name,
                        "channel": item.channel,
                    }
                    for item in files
                ],
                "evidence_deleted_at": _iso(declaration.evidence_purged_at),
                "decision": declaration.decision,
                "decision_reason": declaration.decision_reason,
                "decided_by": names.get(declaration.decided_by or "", declaration.decided_by),
                "decided_at": _iso(declaration.decided_at),
                "return_note": declaration.return_note,
                "history": [
                    {
                        "at": _iso(event.created_at),
                        "from": event.from_status,
                        "to": event.to_status,
                        "by": names.get(event.actor, event.actor),
                        "reason": event.reason,
                    }
                    for event in events
                ],
            }
        )
    received = await uow.broadcasts.received([(a.channel, a.external_id) for a in accounts])
    return {
        "profile": profile,
        "registered_at": _iso(citizen.registered_at),
        "updated_at": _iso(citizen.updated_at),
        "accounts": [
            {"channel": a.channel, "id": a.external_id, "language": a.locale} for a in accounts
        ],
        "consents": [
            {
                "notice_version": consent.notice_version,
                "purposes": list(consent.purposes),
                "given_at": _iso(consent.accepted_at),
                "withdrawn_at": _iso(consent.withdrawn_at),
                "channel": consent.channel,
                "guardian_name": consent.guardian_name,
                "guardian_relation": consent.guardian_relation,
            }
            for consent in await uow.consents.for_citizen(citizen.id)
        ],
        "corrections": [
            {
                "field": change.field,
                "old": change.old_value,
                "new": change.new_value,
                "by": change.actor,
                "at": _iso(change.changed_at),
            }
            for change in await uow.citizens.changes(citizen.id)
        ],
        "declarations": declarations,
        "campaign_messages": [
            {
                "broadcast": item.broadcast_id,
                "text": item.text,
                "status": item.status,
                "queued_at": _iso(item.created_at),
                "sent_at": _iso(item.sent_at),
            }
            for item in received
        ],
    }


def render_json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
