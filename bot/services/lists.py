"""The ward office's lists (recognised, not started, waiting), for the chat, the web console
and the command line: their rows (``list_rows``) and the Excel file a ward office prints and
signs (``write_list``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen
from bot.domain.usecases.decisions import verified_total
from bot.domain.validation import national_phone
from bot.domain.wards import WardDirectory
from bot.engine import Text, t
from bot.services.report import (
    collation_key,
)
from bot.services.spreadsheet import (
    channel_word,
    list_workbook,
    local_time,
    unit_label,
)

__all__ = ["LISTS", "ListSpec", "WardNames", "list_rows", "write_list"]


@dataclass(frozen=True, slots=True)
class ListSpec:
    name: str  # proposed, not_started, waiting
    title: Text
    headers: tuple[Text, ...]
    widths: tuple[int, ...]


LISTS = {
    "proposed": ListSpec(
        "proposed",
        t("list.proposed.title"),
        (
            t("list.col.number"), t("xlsx.col.full_name"), t("xlsx.col.birth_year"),
            t("xlsx.col.gender"), t("xlsx.col.group"), t("xlsx.col.ward"),
            t("xlsx.col.residential_group"), t("xlsx.col.phone"), t("xlsx.col.verified_total"),
            t("xlsx.col.decided_at"), t("xlsx.col.decided_by"),
        ),
        (6, 26, 9, 9, 28, 24, 18, 15, 10, 17, 26),
    ),
    "not_started": ListSpec(
        "not_started",
        t("list.not_started.title"),
        (
            t("list.col.number"), t("xlsx.col.full_name"), t("xlsx.col.birth_year"),
            t("xlsx.col.ward"), t("xlsx.col.residential_group"), t("xlsx.col.phone"),
            t("xlsx.col.channel"), t("xlsx.col.registered_at"),
        ),
        (6, 26, 9, 24, 18, 15, 10, 17),
    ),
    "waiting": ListSpec(
        "waiting",
        t("list.waiting.title"),
        (
            t("list.col.number"), t("xlsx.col.full_name"), t("xlsx.col.ward"),
            t("xlsx.col.residential_group"), t("xlsx.col.submitted_at"), t("list.col.days"),
            t("list.col.declaration"),
        ),
        (6, 26, 24, 18, 17, 10, 10),
    ),
}  # fmt: skip


class WardNames(Protocol):
    """A unit's name by its code, else ``otherwise`` (``WardDirectory.name_of``)."""

    def __call__(self, code: str, otherwise: str | None = None, /) -> str: ...


async def list_rows(
    uow: UnitOfWork,
    name: str,
    wards: frozenset[str] | None,
    year: int,
    now: datetime,
    days: int,
    ward_name: WardNames,
    staff_names: dict[str, str],
    words: Callable[[str], str],
) -> list[list[object]]:
    """The rows of one list (numbered), for the chat, the command line and the file: units in
    Vietnamese order; values as words (``words(key)`` translates a catalog key)."""

    def unit(person: Citizen) -> str:  # a code no longer listed: the name stored with it
        return ward_name(person.ward_code, person.ward_name)

    def gender(person: Citizen) -> str | None:
        return words(f"gender.{person.gender}") if person.gender else None

    def channel(person: Citizen) -> str:
        return channel_word(person.channel, words)

    def decided_by(account: str | None) -> str | None:
        """The name the coordinator gave; else «Chưa ghi tên (Telegram)», not the account."""
        shown = staff_names.get(account or "", account)
        if shown != account or account is None:
            return shown
        return words("xlsx.staff.unnamed").format(
            account=channel_word(account.partition(":")[0], words)
        )

    def by_name(person: Citizen) -> tuple[Any, ...]:
        given = person.full_name.split()[-1:] or [""]
        return (
            collation_key(unit(person)),
            collation_key(given[0]),
            collation_key(person.full_name),
        )

    rows: list[list[object]] = []
    if name == "proposed":
        found = await uow.declarations.with_status(("recognised",), wards, year=year)
        answers = await uow.declarations.answers_by_declaration(year)
        ordered = sorted(found, key=lambda pair: by_name(pair[1]))
        for number, (declaration, person) in enumerate(ordered, start=1):
            total = verified_total(answers.get(declaration.id, {}))
            rows.append(
                [
                    number, person.full_name, person.birth_year, gender(person),
                    words(f"group.{person.group}"), unit(person), person.residential_group,
                    national_phone(person.phone), total, local_time(declaration.decided_at),
                    decided_by(declaration.decided_by),
                ]
            )  # fmt: skip
    elif name == "not_started":
        people = sorted(await uow.citizens.without_declaration(year, wards), key=by_name)
        for number, person in enumerate(people, start=1):
            rows.append(
                [
                    number, person.full_name, person.birth_year, unit(person),
                    person.residential_group, national_phone(person.phone), channel(person),
                    local_time(person.registered_at),
                ]
            )  # fmt: skip
    else:
        before = now - timedelta(days=days)
        found = await uow.declarations.with_status(("submitted",), wards, submitted_before=before)
        waiting = sorted(found, key=lambda pair: collation_key(unit(pair[1])))  # stable: oldest
        for number, (declaration, person) in enumerate(waiting, start=1):
            submitted = declaration.submitted_at or now
            rows.append(
                [
                    number, person.full_name, unit(person),
                    person.residential_group, local_time(submitted),
                    (now - submitted).days, declaration.id,
                ]
            )  # fmt: skip
    return rows


# the kind of unit before a place's name, left out of «…, ngày … tháng … năm …» as official
# documents write it (Nghị định 30/2020/NĐ-CP, appendix I: the unit's name, «Lê Chân, ngày…»)
_KINDS = ("Thành phố ", "Tỉnh ", "Phường ", "Xã ", "Đặc khu ", "Thị trấn ")


def _place(name: str) -> str:
    for kind in _KINDS:
        rest = name.removeprefix(kind)
        if rest != name and not rest.isdigit():  # «Phường 5» keeps its kind
            return rest
    return name


def write_list(
    target: str | Path | IO[bytes],
    name: str,
    rows: Sequence[Sequence[object]],
    *,
    scope: Collection[str] | None,
    year: int,
    days: int,
    wards: WardDirectory,
    say: Callable[..., str],
    locale: str,
    made_at: datetime | None = None,
) -> int:
    """One list (``list_rows``) as the Excel file a ward office prints and signs: its title,
    the unit (``scope``'s units, None: the province), the date, and the signature blocks of
    whoever made it and of the unit's association. Returns the rows written."""
    spec = LISTS[name]
    units = sorted({wards.name_of(code) for code in scope}, key=collation_key) if scope else []
    single = wards.province_name if scope is None else units[0] if len(units) == 1 else None
    return list_workbook(
        target,
        say(locale, spec.title.key),
        [say(locale, h.key, **h.params) for h in spec.headers],
        spec.widths,
        rows,
        heading=say(locale, f"list.{name}.print_title", year=year, days=days),
        unit=unit_label(wards, scope),
        confirmer=single or say(locale, "list.unit.several"),
        place=_place(single) if single else None,
        made_at=made_at,
        say=say,
        locale=locale,
    )
