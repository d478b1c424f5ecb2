"""One record per citizen, for the association's spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from bot.engine.ports import Store

__all__ = ["EXPORT_FIELDS", "export_records", "render_csv", "render_json"]

EXPORT_FIELDS = (
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


async def export_records(store: Store, ward_code: str | None = None) -> list[dict[str, Any]]:
    async with store.transaction() as uow:
        records = []
        for citizen in await uow.citizens.list(ward_code):
            consents = await uow.consents.for_citizen(citizen.id)
            latest = consents[-1] if consents else None
            records.append(
                {
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
                    "registered_at": citizen.registered_at.isoformat()
                    if citizen.registered_at
                    else None,
                    "updated_at": citizen.updated_at.isoformat() if citizen.updated_at else None,
                    "locale": citizen.locale,
                    "consent_version": latest.notice_version if latest else None,
                    "consent_at": latest.accepted_at.isoformat() if latest else None,
                }
            )
        return records


def render_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def render_csv(records: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})
    return buffer.getvalue()
