"""Registration of a citizen, and the /profile flow that edits the same fields.

Diagram: ``registration.mmd`` beside this file. Steps are named after what they fill.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime
from typing import Any

import phonenumbers

from bot.engine import (
    Abort,
    Accept,
    Answer,
    ChoiceSpec,
    Expect,
    Finish,
    Flow,
    FlowContext,
    Outcome,
    Prompt,
    Retry,
    Step,
    Text,
    t,
)
from bot.engine.ports import NewCitizen
from bot.flows.common import choose, services
from bot.services.erasure import erase_citizen
from bot.services.validation import (
    ValidationError,
    is_minor,
    normalize_free_text,
    validate_birth_year,
    validate_full_name,
    validate_phone,
)
from bot.services.wards import MAX_QUERY

__all__ = [
    "GROUP_LABELS",
    "PROFILE_FLOW",
    "PURPOSES",
    "REGISTRATION_FLOW",
    "profile_flow",
    "registration_flow",
]

REGISTRATION_FLOW = "registration"
PROFILE_FLOW = "profile"
PURPOSES = ("registration_self_assessment", "share_with_ward_coordinator", "anonymous_statistics")
GROUP_LABELS = {
    1: t("group.1"),
    2: t("group.2"),
    3: t("group.3"),
    4: t("group.4"),
}
GENDER_LABELS = {
    "male": t("gender.male"),
    "female": t("gender.female"),
    "other": t("gender.other"),
}
# The fields a citizen can edit from the summary or /profile, each named after its step.
FIELD_LABELS = {
    "full_name": t("field.full_name"),
    "birth_year": t("field.birth_year"),
    "gender": t("field.gender"),
    "phone": t("field.phone"),
    "group": t("field.group"),
    "ward": t("field.ward"),
    "residential_group": t("field.residential_group"),
    "workplace": t("field.workplace"),
}


def _error(exc: ValidationError) -> Retry:
    return Retry(t(exc.reason, limit=exc.limit) if exc.limit else t(exc.reason))


# -- consent ---------------------------------------------------------------------------------


def _consent_prompt(ctx: FlowContext) -> Prompt:
    bundle = services(ctx)
    return Prompt(
        t(
            "reg.consent.prompt",
            controller=bundle.data_controller,
            version=bundle.notice_version,
        ),
        (
            ChoiceSpec("agree", t("reg.consent.agree")),
            ChoiceSpec("disagree", t("reg.consent.disagree")),
        ),
        Expect.CHOICE,
    )


async def _consent(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.choice_id == "agree":
        return Accept(
            {
                "consent_version": services(ctx).notice_version,
                "consent_at": ctx.now.isoformat(),
                "consent_purposes": list(PURPOSES),
            }
        )
    if answer.choice_id == "disagree":
        return Abort((t("reg.consent.declined"),), forget=True)
    return choose()


# -- target group ----------------------------------------------------------------------------


def _group_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(
        t("reg.group.prompt"),
        tuple(ChoiceSpec(f"g{group}", label) for group, label in GROUP_LABELS.items()),
        Expect.CHOICE,
    )


async def _group(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.choice_id and answer.choice_id.startswith("g"):
        group = int(answer.choice_id[1:])
        values: dict[str, Any] = {"group": group}
        if group == 1:
            values["workplace"] = None
        return Accept(values)
    return choose()


# -- name, year of birth, guardian, gender -----------------------------------------------------


def _name_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(t("reg.full_name.prompt"))


async def _full_name(ctx: FlowContext, answer: Answer) -> Outcome:
    if not answer.text:
        return Retry(t("reg.full_name.error.empty"))
    try:
        return Accept({"full_name": validate_full_name(answer.text)})
    except ValidationError as exc:
        return _error(exc)


def _year_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(t("reg.birth_year.prompt"))


async def _birth_year(ctx: FlowContext, answer: Answer) -> Outcome:
    try:
        year = validate_birth_year(answer.text, ctx.now.year)
    except ValidationError as exc:
        return Retry(t(exc.reason, low=ctx.now.year - 110, high=ctx.now.year - 6))
    if is_minor(year, ctx.now.year):
        return Accept({"birth_year": year, "guardian_consent": None}, goto="guardian_consent")
    return Accept({"birth_year": year, "guardian_consent": None})


def _is_minor(ctx: FlowContext) -> bool:
    year = ctx.values.get("birth_year")
    return isinstance(year, int) and is_minor(year, ctx.now.year)


def _guardian_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(
        t("reg.guardian.prompt"),
        (ChoiceSpec("yes", t("reg.guardian.yes")), ChoiceSpec("no", t("reg.guardian.no"))),
        Expect.CHOICE,
    )


async def _guardian(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.choice_id == "yes":
        return Accept({"guardian_consent": True})
    if answer.choice_id == "no":
        if ctx.citizen is not None:  # editing a profile: keep the data, ask again later
            return Retry(t("reg.guardian.required"))
        return Abort((t("reg.guardian.declined"),), forget=True)
    return choose()


def _gender_prompt(ctx: FlowContext) -> Prompt:
    choices = tuple(ChoiceSpec(gender, label) for gender, label in GENDER_LABELS.items())
    return Prompt(
        t("reg.gender.prompt"), (*choices, ChoiceSpec("skip", t("common.skip"))), Expect.CHOICE
    )


async def _gender(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.choice_id in GENDER_LABELS:
        return Accept({"gender": answer.choice_id})
    if answer.choice_id == "skip":
        return Accept({"gender": None})
    return choose()


# -- phone -----------------------------------------------------------------------------------


def _phone_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(t("reg.phone.prompt"), expect=Expect.PHONE, phone_button=t("reg.phone.button"))


async def _phone(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.phone is not None and not answer.phone_is_own:
        return Retry(t("reg.phone.error.not_own"))
    raw = answer.phone if answer.phone is not None else answer.text
    if not raw:
        return Retry(t("reg.phone.error.invalid"))
    try:
        return Accept({"phone": validate_phone(raw)})
    except ValidationError as exc:
        return _error(exc)


# -- ward ------------------------------------------------------------------------------------


def _ward_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(t("reg.ward.prompt", province=services(ctx).wards.province_name))


def _search_wards(ctx: FlowContext, query: str) -> Outcome:
    if not query:
        return Retry(t("reg.ward.error.empty"))
    if len(query) > MAX_QUERY:
        return Retry(t("reg.ward.error.long", limit=MAX_QUERY))
    found = services(ctx).wards.search(query)
    if not found:
        return Retry(t("reg.ward.error.none", query=query[:60]))
    return Accept({"ward_candidates": [[w.code, w.name] for w in found]}, goto="ward_pick")


async def _ward(ctx: FlowContext, answer: Answer) -> Outcome:
    return _search_wards(ctx, answer.text)


def _ward_pick_prompt(ctx: FlowContext) -> Prompt:
    candidates = ctx.values.get("ward_candidates") or []
    choices = tuple(ChoiceSpec(f"w{code}", name) for code, name in candidates)
    return Prompt(
        t("reg.ward_pick.prompt"),
        (*choices, ChoiceSpec("retype", t("reg.ward_pick.retype"))),
        Expect.CHOICE,
    )


async def _ward_pick(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.choice_id == "retype":
        return Accept({"ward_candidates": None}, goto="ward")
    if answer.choice_id and answer.choice_id.startswith("w"):
        ward = services(ctx).wards.get(answer.choice_id[1:])
        if ward is None:
            return choose()
        return Accept(
            {
                "ward_code": ward.code,
                "ward_name": ward.name,
                "ward_data_version": services(ctx).wards.data_version,
                "ward_candidates": None,
            }
        )
    return _search_wards(ctx, answer.text)  # typed another name: search again


# -- residential group, workplace ------------------------------------------------------------


def _residential_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(t("reg.residential_group.prompt"))


async def _residential(ctx: FlowContext, answer: Answer) -> Outcome:
    try:
        return Accept({"residential_group": normalize_free_text(answer.text, 100)})
    except ValidationError as exc:
        return _error(exc)


def _works(ctx: FlowContext) -> bool:
    return ctx.values.get("group") in (2, 3, 4)


def _workplace_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(t("reg.workplace.prompt"), (ChoiceSpec("skip", t("common.skip")),), Expect.TEXT)


async def _workplace(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.choice_id == "skip":
        return Accept({"workplace": None})
    try:
        return Accept({"workplace": normalize_free_text(answer.text, 150)})
    except ValidationError as exc:
        return _error(exc)


# -- summary and edits -----------------------------------------------------------------------


def _format_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, "VN")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _details(values: dict[str, Any]) -> Text:
    gender = values.get("gender")
    workplace = values.get("workplace")
    return t(
        "reg.details",
        full_name=values.get("full_name", ""),
        birth_year=values.get("birth_year", ""),
        gender=GENDER_LABELS[gender] if gender in GENDER_LABELS else t("common.not_given"),
        phone=_format_phone(str(values.get("phone", ""))),
        group=GROUP_LABELS.get(int(values.get("group") or 1), GROUP_LABELS[1]),
        ward=values.get("ward_name", ""),
        residential_group=values.get("residential_group", ""),
        workplace=workplace if workplace else t("common.not_given"),
    )


def _summary_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(
        t("reg.summary.prompt", details=_details(ctx.values)),
        (ChoiceSpec("confirm", t("reg.summary.confirm")), ChoiceSpec("edit", t("common.edit"))),
        Expect.CHOICE,
    )


def _new_citizen(ctx: FlowContext) -> NewCitizen:
    values = ctx.values
    group = int(values["group"])
    return NewCitizen(
        full_name=str(values["full_name"]),
        birth_year=int(values["birth_year"]),
        gender=values.get("gender"),
        phone=str(values["phone"]),
        group=group,
        ward_code=str(values["ward_code"]),
        ward_name=str(values["ward_name"]),
        ward_data_version=str(values["ward_data_version"]),
        residential_group=str(values["residential_group"]),
        workplace=values.get("workplace") if group != 1 else None,
        guardian_consent=values.get("guardian_consent"),
        channel=ctx.identity.channel,
        locale=ctx.locale,
    )


async def _summary(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.choice_id == "edit":
        return Accept(goto="edit_field")
    if answer.choice_id != "confirm":
        return choose()
    citizen = await ctx.uow.citizens.create(_new_citizen(ctx), ctx.now)
    await ctx.uow.identities.bind(ctx.identity.id, citizen.id)
    await ctx.uow.consents.record(
        citizen.id,
        str(ctx.values["consent_version"]),
        list(ctx.values["consent_purposes"]),
        datetime.fromisoformat(str(ctx.values["consent_at"])),
        ctx.identity.channel,
    )
    return Finish((t("reg.done", name=citizen.full_name),))


def _edit_field_prompt(ctx: FlowContext) -> Prompt:
    choices = tuple(
        ChoiceSpec(field, label)
        for field, label in FIELD_LABELS.items()
        if field != "workplace" or _works(ctx)
    )
    return Prompt(
        t("reg.edit_field.prompt"),
        (*choices, ChoiceSpec("back", t("common.back_to_summary"))),
        Expect.CHOICE,
    )


async def _edit_field(ctx: FlowContext, answer: Answer) -> Outcome:
    hub = str(ctx.values.get("_hub", "summary"))
    if answer.choice_id == "back":
        return Accept(goto=hub)
    if answer.choice_id in FIELD_LABELS:
        return Accept({"_edit": True}, goto=answer.choice_id)
    return choose()


FIELD_STEPS = (
    Step("group", _group_prompt, _group),
    Step("full_name", _name_prompt, _full_name),
    Step("birth_year", _year_prompt, _birth_year),
    Step("guardian_consent", _guardian_prompt, _guardian, applies=_is_minor),
    Step("gender", _gender_prompt, _gender),
    Step("phone", _phone_prompt, _phone),
    Step("ward", _ward_prompt, _ward),
    Step("ward_pick", _ward_pick_prompt, _ward_pick),
    Step("residential_group", _residential_prompt, _residential),
    Step("workplace", _workplace_prompt, _workplace, applies=_works),
)
EDIT_STEP = Step("edit_field", _edit_field_prompt, _edit_field)


def registration_flow() -> Flow:
    return Flow(
        REGISTRATION_FLOW,
        (
            Step("consent", _consent_prompt, _consent),
            *FIELD_STEPS,
            Step("summary", _summary_prompt, _summary),
            EDIT_STEP,
        ),
        hub="summary",
        cancel_text=t("reg.cancelled"),
    )


# -- profile ---------------------------------------------------------------------------------


async def _profile_init(ctx: FlowContext) -> dict[str, Any]:
    """The citizen's fields as the flow's values: the same names the field steps fill."""
    citizen = ctx.citizen
    assert citizen is not None
    values = {
        field.name: getattr(citizen, field.name)
        for field in fields(NewCitizen)
        if field.name not in ("channel", "locale")
    }
    return {"_hub": "profile", **values}


async def _profile_save(ctx: FlowContext) -> None:
    citizen = ctx.citizen
    assert citizen is not None
    changes = replace(_new_citizen(ctx), channel=citizen.channel)
    ctx.citizen = await ctx.uow.citizens.update(citizen.id, changes, ctx.now)


def _profile_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(
        t("profile.prompt", details=_details(ctx.values)),
        (
            ChoiceSpec("edit", t("common.edit")),
            ChoiceSpec("delete", t("profile.delete")),
            ChoiceSpec("done", t("profile.done")),
        ),
        Expect.CHOICE,
    )


async def _profile(ctx: FlowContext, answer: Answer) -> Outcome:
    if answer.choice_id == "edit":
        return Accept(goto="edit_field")
    if answer.choice_id == "delete":
        return Accept(goto="delete_confirm")
    if answer.choice_id == "done":
        return Finish((t("profile.closed"),))
    return choose()


def _delete_prompt(ctx: FlowContext) -> Prompt:
    return Prompt(
        t("profile.delete.prompt"),
        (
            ChoiceSpec("delete", t("profile.delete.confirm")),
            ChoiceSpec("keep", t("profile.delete.keep")),
        ),
        Expect.CHOICE,
    )


async def _delete_confirm(ctx: FlowContext, answer: Answer) -> Outcome:
    """Withdrawing consent erases everything about the citizen (``erase_citizen``)."""
    if answer.choice_id == "keep":
        return Accept(goto="profile")
    if answer.choice_id != "delete":
        return choose()
    citizen = ctx.citizen
    assert citizen is not None
    blobs = await erase_citizen(ctx.uow, citizen, ctx.now)
    bundle = services(ctx)
    erased, compact = bundle.erased, bundle.compact
    if erased is not None:
        ctx.after_commit.append(lambda: erased(blobs))  # the files, once the rows are gone
    if compact is not None:  # the confirmation itself names the account until it is sent
        ctx.after_delivery.append(compact)
    return Finish((t("profile.deleted"),))


def profile_flow() -> Flow:
    return Flow(
        PROFILE_FLOW,
        (
            Step("profile", _profile_prompt, _profile),
            Step("delete_confirm", _delete_prompt, _delete_confirm),
            EDIT_STEP,
            *FIELD_STEPS,
        ),
        init=_profile_init,
        hub="profile",
        on_hub_return=_profile_save,
        cancel_text=t("profile.cancelled"),
    )
