"""The citizen's data rights in the chat: ``/mydata`` (everything stored, as a message and as a
JSON file) and ``/link`` (one record across Telegram and Zalo)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.consents import GUARDIAN, PURPOSE_LABELS
from bot.domain.groups import GROUP_LABELS
from bot.domain.usecases.linking import LINK_VALID, issue_link_code, use_link_code
from bot.domain.usecases.notices import file_message
from bot.domain.usecases.texts import channel_text
from bot.engine import Answered, Joined, Text, t
from bot.flows.common import Ctx, local_date, services
from bot.flows.registration import (
    RELATIONS,
    _details,
    _profile_init,
)
from bot.services.evidence import delivered_once
from bot.services.mydata import citizen_data, render_json

__all__ = ["link_command", "mydata_command"]


def _channel(channel: str) -> Text:
    """A chat channel in words («Telegram», «kênh chạy thử trên máy»), never its code name."""
    return channel_text(channel)


STATUS_WORDS = {
    "draft": t("xlsx.status.draft"),
    "submitted": t("xlsx.status.submitted"),
    "returned": t("xlsx.status.returned"),
    "recognised": t("xlsx.status.recognised"),
    "not_recognised": t("xlsx.status.not_recognised"),
}


def _purpose(purpose: str, consent: dict[str, Any]) -> Text:
    """A consent's purpose in words, naming the parent or guardian who agreed for a child."""
    guardian = consent.get("guardian_name")
    relation = consent.get("guardian_relation") or ""
    by = (
        t("mydata.consent.by", name=guardian, relation=RELATIONS.get(relation, t("relation.other")))
        if guardian
        else ""
    )
    if purpose == GUARDIAN:
        return t(
            "purpose.guardian",
            name=guardian or "",
            relation=RELATIONS.get(relation, t("relation.other")),
        )
    label = PURPOSE_LABELS.get(purpose)
    return (
        t("purpose.other", by=by)
        if label is None
        else t("purpose.with_guardian", purpose=label, by=by)
    )


async def mydata_command(ctx: Ctx) -> Answered:
    """``/mydata``: what is stored about the citizen, in short, and all of it in a JSON file."""
    citizen = ctx.subject
    if citizen is None:
        return t("mydata.none")
    data = await citizen_data(ctx.uow, citizen)
    consents: list[Text | str] = []
    for consent in data["consents"]:
        purposes = Joined(tuple(_purpose(p, consent) for p in consent["purposes"]), ", ")
        given = local_date(_parse(consent["given_at"]))
        if consent["withdrawn_at"]:
            withdrawn = local_date(_parse(consent["withdrawn_at"]))
            consents.append(t("mydata.consent.withdrawn", purposes=purposes, given=given,
                              withdrawn=withdrawn, version=consent["notice_version"]))  # fmt: skip
        else:
            consents.append(t("mydata.consent", purposes=purposes, given=given,
                              version=consent["notice_version"]))  # fmt: skip
    declarations: list[Text | str] = []
    for item in data["declarations"]:
        scores = [
            a["verified_score"] if a["verified_score"] is not None else (a["score"] or 0)
            for a in item["answers"]
        ]
        declarations.append(
            t(
                "mydata.declaration",
                year=item["year"],
                status=STATUS_WORDS.get(item["status"], item["status"]),
                total=sum(scores),
                evidence=len(item["evidence"]),
                decisions=len([e for e in item["history"] if e["to"] != e["from"]]),
            )
        )
    bundle = services(ctx)
    attached = bundle.files is not None
    if bundle.files is not None:
        kept = bundle.files.save(render_json(data), about=citizen.id)
        name = f"du-lieu-cua-toi-{ctx.now.date():%Y%m%d}.json"
        await ctx.uow.outbox.enqueue(
            delivered_once(file_message(
                ctx.identity.channel, ctx.identity.external_id, kept, "document",
                "application/json", name, t("mydata.file.caption"), citizen_id=citizen.id,
            )),
            ctx.now,
        )  # fmt: skip
    return t(
        "mydata.summary",
        details=_details(await _profile_init(ctx)),
        accounts=Joined(tuple(_channel(a["channel"]) for a in data["accounts"]), ", "),
        consents=Joined(tuple(consents), "\n"),
        corrections=len(data["corrections"]),
        declarations=Joined(tuple(declarations), "\n")
        if declarations
        else t("mydata.no_declaration"),
        messages=len(data["campaign_messages"]),
        file=t("mydata.file.attached") if attached else t("mydata.file.none"),
    )


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def link_command(ctx: Ctx) -> Answered:
    """``/link``: on the registered account, a one-time code; ``/link CODE`` on the other
    account binds it to the same registration, and both accounts are told (the other ones by
    ``use_link_code``)."""
    code = str(ctx.values.get("args") or "").strip()
    citizen = ctx.subject
    account = f"{ctx.identity.channel}:{ctx.identity.external_id}"
    if not code:
        if citizen is None:
            return t("link.usage.unregistered")
        issued = await issue_link_code(ctx.uow, citizen, account, ctx.now)
        minutes = int(LINK_VALID.total_seconds() // 60)
        return t("link.code", code=issued, minutes=minutes, digits=issued.replace(" ", ""))
    if citizen is not None:
        return t("link.already_registered", name=citizen.full_name)
    linked = await use_link_code(ctx.uow, ctx.identity, code, ctx.now)
    if linked.problem == "locked":
        return t("staff.code.locked", minutes=linked.wait_minutes)
    if linked.citizen is None:
        return t("link.wrong_code")
    ctx.subject = linked.citizen
    return t(
        "link.done",
        name=linked.citizen.full_name,
        group=GROUP_LABELS.get(linked.citizen.group, GROUP_LABELS[1]),
        ward=linked.citizen.ward_name,
    )
