"""Registration of a citizen, and the /profile flow that edits the same fields.

Diagram: ``registration.mmd`` beside this file. Steps are named after what they fill.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from typing import Any

from bot.domain.consents import (
    PURPOSE_LABELS,
    PURPOSES,
    REGISTRATION,
    SHARING,
    STATISTICS,
    active_purposes,
)
from bot.domain.groups import GROUP_LABELS, group_for
from bot.domain.records import Citizen, NewCitizen
from bot.domain.usecases.citizens import Agreement, correct_profile, register
from bot.domain.usecases.consents import give, withdraw
from bot.domain.usecases.erasure import erase_citizen
from bot.domain.validation import (
    GUARDIAN_AGE,
    ValidationError,
    is_minor,
    normalize_free_text,
    validate_birth_year,
    validate_full_name,
    validate_phone,
    without_diacritics,
)
from bot.domain.wards import MAX_QUERY
from bot.engine import (
    Abort,
    Accept,
    Answer,
    ChoiceSpec,
    Expect,
    Finish,
    Flow,
    Joined,
    Outcome,
    Prompt,
    Retry,
    Step,
    Text,
    t,
)
from bot.engine.matching import fold
from bot.engine.phrases import phrases
from bot.flows.common import Ctx, agree_or_later, choose, national_phone, services

__all__ = [
    "PROFILE_FLOW",
    "PURPOSES",
    "REGISTRATION_FLOW",
    "forget_citizen",
    "greet_citizen",
    "profile_flow",
    "registration_flow",
]

REGISTRATION_FLOW = "registration"
PROFILE_FLOW = "profile"
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


# -- age, then consent (addressed to a parent or guardian under 16) ---------------------------


def _age_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("reg.age.prompt"),
        (
            ChoiceSpec("adult", t("reg.age.adult"), "yes"),  # "đủ rồi", "có"
            ChoiceSpec("minor", t("reg.age.minor"), "no"),  # "chưa"
        ),
        Expect.CHOICE,
        short=t("reg.age.short"),
    )


_AGE = re.compile(r"(?:(?:toi|em|chau|con|minh)\s+)?(?:nam\s+nay\s+)?(\d{1,3})\s*(?:tuoi)?")


async def _age(ctx: Ctx, answer: Answer) -> Outcome:
    """Under 16, a parent or guardian reads the notice and agrees (Law 91/2025): they are asked
    for first. An age or a year of birth typed here answers the question too."""
    minor: bool | None = None
    values: dict[str, Any] = {}
    if answer.choice_id in ("adult", "minor"):
        minor = answer.choice_id == "minor"
    elif (year := phrases().year(answer.text)) is not None:
        try:
            values["birth_year"] = validate_birth_year(year, ctx.now.year)
        except ValidationError as exc:
            return Retry(t(exc.reason, low=ctx.now.year - 110, high=ctx.now.year - 6))
        minor = is_minor(values["birth_year"], ctx.now.year)
    elif (age := _AGE.fullmatch(fold(answer.text))) is not None:
        minor = int(age.group(1)) < GUARDIAN_AGE
    if minor is None:
        return choose()
    return Accept({**values, "minor": minor, "consent_purposes": []})


def _for_guardian(ctx: Ctx) -> bool:
    """A registration of someone under 16: the notice and the agreement go to the guardian."""
    return ctx.subject is None and bool(ctx.values.get("minor"))


def _addressed(ctx: Ctx, own: Text, guardian: Text) -> Text:
    """The text for the person registering, or the one addressed to their guardian."""
    return guardian if _for_guardian(ctx) else own


def _notice_params(ctx: Ctx) -> dict[str, object]:
    bundle = services(ctx)
    relation = str(ctx.values.get("guardian_relation") or "")
    return {
        "controller": bundle.data_controller,
        "contact": bundle.data_controller_contact,
        "version": bundle.notice_version,
        "until": bundle.retention_until,
        "evidence_days": bundle.evidence_retention_days,
        "guardian": str(ctx.values.get("guardian_name") or ""),
        "relation": RELATIONS.get(relation, ""),
    }


def _consent_question(ctx: Ctx) -> Text:
    return _addressed(ctx, t("reg.consent.short"), t("reg.consent.short.guardian"))


def _consent_choices() -> tuple[ChoiceSpec, ...]:
    return (
        ChoiceSpec("agree", t("reg.consent.agree"), "yes"),
        ChoiceSpec("full", t("reg.consent.full")),
        ChoiceSpec("disagree", t("reg.consent.disagree"), "no"),
    )


def _consent_prompt(ctx: Ctx) -> Prompt:
    """The first screen fits a phone: who, what for, the rights; the whole notice on demand."""
    return Prompt(
        _addressed(
            ctx,
            t("reg.consent.prompt", **_notice_params(ctx)),
            t("reg.consent.prompt.guardian", **_notice_params(ctx)),
        ),
        _consent_choices(),
        Expect.CHOICE,
        short=_consent_question(ctx),
    )


def _consent_full_prompt(ctx: Ctx) -> Prompt:
    choices = tuple(c for c in _consent_choices() if c.id != "full")
    question = _consent_question(ctx)
    return Prompt(
        Joined((t("reg.consent.notice", **_notice_params(ctx)), question), "\n\n"),
        choices,
        Expect.CHOICE,
        short=_consent_question(ctx),
    )


async def _consent(ctx: Ctx, answer: Answer) -> Outcome:
    """Purpose 1, registration and self-assessment: required to take part."""
    if answer.choice_id == "agree":
        return Accept(
            {
                "consent_version": services(ctx).notice_version,
                "consent_at": ctx.now.isoformat(),
                "consent_purposes": [REGISTRATION],
                "guardian_consent": True if _for_guardian(ctx) else None,
            },
            goto="consent_share",
        )
    if answer.choice_id == "full":
        return Accept(goto="consent_full")
    if answer.choice_id == "disagree":
        return Abort((t("reg.consent.declined"),), forget=True)
    return choose()


def _share_prompt(ctx: Ctx) -> Prompt:
    return agree_or_later(
        _addressed(ctx, t("reg.consent.share"), t("reg.consent.share.guardian")),
        t("reg.consent.agree"),
        t("reg.consent.later"),
        t("reg.consent.share.short"),
    )


async def _share(ctx: Ctx, answer: Answer) -> Outcome:
    """Purpose 2, sharing with the ward's coordinator: needed to submit, may come later."""
    return _add_purpose(ctx, answer, SHARING, "consent_stats")


def _stats_prompt(ctx: Ctx) -> Prompt:
    return agree_or_later(
        _addressed(ctx, t("reg.consent.stats"), t("reg.consent.stats.guardian")),
        t("reg.consent.agree"),
        t("reg.consent.no_stats"),
        t("reg.consent.stats.short"),
    )


async def _stats(ctx: Ctx, answer: Answer) -> Outcome:
    """Purpose 3, statistics: optional. Registration goes on with the target group, or where it
    was when a year of birth under 16 asked for the guardian's agreement."""
    following = str(ctx.values.get("resume_at") or "group")
    return _add_purpose(ctx, answer, STATISTICS, following, {"resume_at": None})


def _add_purpose(
    ctx: Ctx,
    answer: Answer,
    purpose: str,
    following: str,
    also: dict[str, Any] | None = None,
) -> Outcome:
    purposes = [p for p in ctx.values.get("consent_purposes") or [] if p != purpose]
    if answer.choice_id == "agree":
        return Accept({"consent_purposes": [*purposes, purpose], **(also or {})}, goto=following)
    if answer.choice_id == "later":
        return Accept({"consent_purposes": purposes, **(also or {})}, goto=following)
    return choose()


# -- target group ----------------------------------------------------------------------------


def _group_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("reg.group.prompt"),
        tuple(ChoiceSpec(f"g{group}", label) for group, label in GROUP_LABELS.items()),
        Expect.CHOICE,
    )


async def _group(ctx: Ctx, answer: Answer) -> Outcome:
    """A group picked, or named in words ("công nhân", "nghỉ hưu"); "?" or anything else
    gets one line of examples per group."""
    notice: Text | None = None
    if answer.choice_id and answer.choice_id.startswith("g"):
        group = int(answer.choice_id[1:])
    elif answer.text and (found := group_for(answer.text)) is not None:
        group = found
        notice = t("reg.group.understood", typed=answer.text[:60], group=GROUP_LABELS[group])
    else:
        return Retry(t("reg.group.help"))
    values: dict[str, Any] = {"group": group}
    if group == 1:
        values["workplace"] = None
    return Accept(values, notice=notice)


# -- name, year of birth, guardian, gender -----------------------------------------------------


def _name_prompt(ctx: Ctx) -> Prompt:
    return Prompt(t("reg.full_name.prompt"))


async def _full_name(ctx: Ctx, answer: Answer) -> Outcome:
    """The name as it will be printed on the letter: a name typed without diacritics («pham
    van tam») is asked for once more with them; the same answer again is taken as it is."""
    if not answer.text:
        return Retry(t("reg.full_name.error.empty"))
    if phrases().is_dont_know(answer.text):
        return Retry(t("reg.full_name.help"))
    try:
        name = validate_full_name(answer.text)
    except ValidationError as exc:
        return _error(exc)
    asked = ctx.values.get("name_unaccented")
    if ctx.locale == "vi" and without_diacritics(name) and fold(name) != asked:
        notice = t("reg.full_name.diacritics", name=name)
        return Accept({"name_unaccented": fold(name)}, goto="full_name", notice=notice)
    return Accept({"full_name": name, "name_unaccented": None})


def _year_prompt(ctx: Ctx) -> Prompt:
    return Prompt(t("reg.birth_year.prompt"))


async def _birth_year(ctx: Ctx, answer: Answer) -> Outcome:
    try:
        year = validate_birth_year(answer.text, ctx.now.year)
    except ValidationError as exc:
        return Retry(t(exc.reason, low=ctx.now.year - 110, high=ctx.now.year - 6))
    if not is_minor(year, ctx.now.year):
        if ctx.values.get("minor") and ctx.subject is None and ctx.now.year - year > GUARDIAN_AGE:
            # the guardian said under 16: «1990» is the guardian's own year, or a slip
            return Retry(t("reg.birth_year.not_minor", year=year, age=ctx.now.year - year))
        return Accept({"birth_year": year})
    if ctx.subject is not None:  # a profile corrected to under 16: the guardian's word
        return Accept({"birth_year": year, "guardian_consent": None}, goto="guardian_consent")
    if ctx.values.get("minor"):  # the guardian has read and agreed already
        return Accept({"birth_year": year})
    # said 16 or over, but the year says under 16: what was agreed was agreed by a child, so the
    # guardian is asked for, reads the notice and agrees; then registration goes on from here
    editing = bool(ctx.values.pop("_edit", False))
    following = "summary" if editing else "gender"
    return Accept(
        {"birth_year": year, "minor": True, "consent_purposes": [], "resume_at": following},
        goto="guardian_name",
        notice=t("reg.birth_year.minor", year=year),
    )


def _is_minor(ctx: Ctx) -> bool:
    year = ctx.values.get("birth_year")
    return isinstance(year, int) and is_minor(year, ctx.now.year)


def _guardian_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("reg.guardian.prompt"),
        (
            ChoiceSpec("yes", t("reg.guardian.yes"), "yes"),
            ChoiceSpec("no", t("reg.guardian.no"), "no"),
        ),
        Expect.CHOICE,
    )


async def _guardian(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "yes":
        return Accept({"guardian_consent": True})
    if answer.choice_id == "no":
        if ctx.subject is not None:  # editing a profile: keep the data, ask again later
            return Retry(t("reg.guardian.required"))
        return Abort((t("reg.guardian.declined"),), forget=True)
    return choose()


def _profile_minor(ctx: Ctx) -> bool:
    """A profile whose year of birth is corrected to under 16 asks for the guardian's word."""
    return ctx.subject is not None and _is_minor(ctx)


def _names_guardian(ctx: Ctx) -> bool:
    """A registration of someone under 16 begins with the guardian, who reads and agrees (with
    a consent record naming them); editing a profile later does not ask again."""
    return _for_guardian(ctx)


def _guardian_name_prompt(ctx: Ctx) -> Prompt:
    return Prompt(t("reg.guardian_name.prompt"))


async def _guardian_name(ctx: Ctx, answer: Answer) -> Outcome:
    try:
        return Accept({"guardian_name": validate_full_name(answer.text)})
    except ValidationError as exc:
        return _error(exc)


RELATIONS = {
    "father": t("relation.father"),
    "mother": t("relation.mother"),
    "grandparent": t("relation.grandparent"),
    "other": t("relation.other"),
}


def _relation_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("reg.guardian_relation.prompt", name=str(ctx.values.get("guardian_name") or "")),
        tuple(ChoiceSpec(key, label) for key, label in RELATIONS.items()),
        Expect.CHOICE,
    )


# How people name the relationship, as written («bố», «má», «bà ngoại»); an ASCII answer is
# compared without diacritics («bo», «me»), where «ba» is a father as written in the South.
RELATION_WORDS = {
    "father": ("cha", "bố", "ba", "tía", "thầy", "bố đẻ", "cha đẻ", "father", "dad"),
    "mother": ("mẹ", "má", "u", "bầm", "mạ", "mẹ đẻ", "mẹ em", "mẹ cháu", "mother", "mum", "mom"),
    "grandparent": ("ông", "bà", "ông nội", "bà nội", "ông ngoại", "bà ngoại", "ông bà",
                    "grandfather", "grandmother", "grandparent"),
    "other": ("giám hộ", "người giám hộ", "người nuôi dưỡng", "anh", "chị", "cô", "chú", "bác",
              "dì", "cậu", "mợ", "thím", "guardian"),
}  # fmt: skip


def _relation_of(typed: str) -> str | None:
    words = " ".join(typed.casefold().split()).strip(" .!,")
    for relation, names in RELATION_WORDS.items():
        if words in names:
            return relation
    if words.isascii():
        found = {r for r, names in RELATION_WORDS.items() if words in {fold(n) for n in names}}
        if len(found) == 1:
            return found.pop()
    return None


async def _relation(ctx: Ctx, answer: Answer) -> Outcome:
    relation = answer.choice_id if answer.choice_id in RELATIONS else _relation_of(answer.text)
    if relation is not None:
        return Accept({"guardian_relation": relation})
    return choose()


def _gender_prompt(ctx: Ctx) -> Prompt:
    choices = tuple(ChoiceSpec(gender, label) for gender, label in GENDER_LABELS.items())
    skip = ChoiceSpec("skip", t("common.skip"), "no")  # «không», «k»: not given
    return Prompt(t("reg.gender.prompt"), (*choices, skip), Expect.CHOICE)


async def _gender(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id in GENDER_LABELS:
        return Accept({"gender": answer.choice_id})
    if answer.choice_id == "skip":
        return Accept({"gender": None})
    return choose()


# -- phone -----------------------------------------------------------------------------------


def _phone_prompt(ctx: Ctx) -> Prompt:
    return Prompt(t("reg.phone.prompt"), expect=Expect.PHONE, phone_button=t("reg.phone.button"))


async def _phone(ctx: Ctx, answer: Answer) -> Outcome:
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


def _ward_prompt(ctx: Ctx) -> Prompt:
    province = services(ctx).wards.province_name
    here = services(ctx).wards.get(ctx.origin) if ctx.origin else None
    if here is None:
        return Prompt(t("reg.ward.prompt", province=province))
    # written to a ward's own page: that ward first, any other typed as usual
    return Prompt(
        t("reg.ward.prompt_here", ward=here.name, province=province),
        (ChoiceSpec(f"w{here.code}", here.name),),
        Expect.CHOICE,
    )


def _search_wards(ctx: Ctx, query: str) -> Outcome:
    if not query:
        return Retry(t("reg.ward.error.empty"))
    if len(query) > MAX_QUERY:
        return Retry(t("reg.ward.error.long", limit=MAX_QUERY))
    found = services(ctx).wards.search(query)
    if not found:
        return Retry(t("reg.ward.error.none", query=query[:60]))
    return Accept({"ward_candidates": [[w.code, w.name] for w in found]}, goto="ward_pick")


async def _ward(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id is not None and answer.choice_id.startswith("w"):
        return await _ward_pick(ctx, answer)  # the ward of the page written to
    return _search_wards(ctx, answer.text)


def _picking(ctx: Ctx) -> bool:
    """Names were found to choose from (the ward of the page written to is chosen at once)."""
    return bool(ctx.values.get("ward_candidates"))


def _ward_pick_prompt(ctx: Ctx) -> Prompt:
    candidates = ctx.values.get("ward_candidates") or []
    choices = tuple(ChoiceSpec(f"w{code}", name) for code, name in candidates)
    return Prompt(
        t("reg.ward_pick.prompt"),
        (*choices, ChoiceSpec("retype", t("reg.ward_pick.retype"))),
        Expect.CHOICE,
    )


async def _ward_pick(ctx: Ctx, answer: Answer) -> Outcome:
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


def _residential_prompt(ctx: Ctx) -> Prompt:
    return Prompt(t("reg.residential_group.prompt"))


async def _residential(ctx: Ctx, answer: Answer) -> Outcome:
    typed = answer.text
    if phrases().is_dont_know(typed) or phrases().is_none(typed) or phrases().intent(typed):
        return Retry(t("reg.residential_group.error.hint"))  # «k», «ok», «rồi»: not a place
    try:
        return Accept({"residential_group": normalize_free_text(answer.text, 100)})
    except ValidationError as exc:
        return _error(exc)


def _works(ctx: Ctx) -> bool:
    return ctx.values.get("group") in (2, 3, 4)


def _workplace_prompt(ctx: Ctx) -> Prompt:
    skip = ChoiceSpec("skip", t("common.skip"), "no")  # «không», «k»: nothing to give
    return Prompt(t("reg.workplace.prompt"), (skip,), Expect.TEXT)


async def _workplace(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "skip" or phrases().is_none(answer.text):
        return Accept({"workplace": None, "org_id": None})  # «không có», «nghỉ hưu», «k»
    if phrases().is_dont_know(answer.text) or phrases().intent(answer.text) is not None:
        return Retry(t("reg.workplace.error.hint"))  # «ok», «rồi»: not a workplace
    try:
        typed = normalize_free_text(answer.text, 150)
    except ValidationError as exc:
        return _error(exc)
    # the organisations the admins keep, found by part of the name as wards are: one chosen
    # from the list is one its verifiers confirm for (a name typed is kept as typed)
    words = fold(typed).split()
    found = [o for o in await ctx.uow.orgs.all() if all(w in fold(o.name) for w in words)]
    if found:
        candidates = [[o.id, o.name] for o in found[:MAX_ORG_CHOICES]]
        return Accept({"workplace": typed, "org_candidates": candidates}, goto="org_pick")
    return Accept({"workplace": typed, "org_id": None})


MAX_ORG_CHOICES = 6  # organisations offered as buttons for what was typed


def _picking_org(ctx: Ctx) -> bool:
    return bool(ctx.values.get("org_candidates"))


def _org_pick_prompt(ctx: Ctx) -> Prompt:
    candidates = ctx.values.get("org_candidates") or []
    typed = str(ctx.values.get("workplace") or "")
    return Prompt(
        t("reg.org_pick.prompt"),
        (
            *(ChoiceSpec(f"o{number}", name) for number, name in candidates),
            ChoiceSpec("typed", t("reg.org_pick.typed", typed=typed[:40])),
            ChoiceSpec("retype", t("reg.ward_pick.retype")),
        ),
        Expect.CHOICE,
    )


async def _org_pick(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "retype":
        return Accept({"org_candidates": None}, goto="workplace")
    if answer.choice_id == "typed":  # not in the list: the words typed, no organisation
        return Accept({"org_id": None, "org_candidates": None})
    if answer.choice_id and answer.choice_id.startswith("o") and answer.choice_id[1:].isdigit():
        found = await ctx.uow.orgs.get(int(answer.choice_id[1:]))
        if found is None:
            return choose()
        return Accept({"org_id": found.id, "workplace": found.name, "org_candidates": None})
    return await _workplace(ctx, answer)  # typed another name: search again


# -- summary and edits -----------------------------------------------------------------------


def _details(values: dict[str, Any]) -> Text:
    gender = values.get("gender")
    workplace = values.get("workplace")
    return t(
        "reg.details",
        full_name=values.get("full_name", ""),
        birth_year=values.get("birth_year", ""),
        gender=GENDER_LABELS[gender] if gender in GENDER_LABELS else t("common.not_given"),
        phone=national_phone(str(values.get("phone", ""))),
        group=GROUP_LABELS.get(int(values.get("group") or 1), GROUP_LABELS[1]),
        ward=values.get("ward_name", ""),
        residential_group=values.get("residential_group", ""),
        workplace=workplace if workplace else t("common.not_given"),
    )


def _summary_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("reg.summary.prompt", details=_details(ctx.values)),
        (
            ChoiceSpec("confirm", t("reg.summary.confirm"), "yes"),
            ChoiceSpec("edit", t("common.edit"), "no"),
        ),
        Expect.CHOICE,
    )


def _new_citizen(ctx: Ctx) -> NewCitizen:
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
        org_id=values.get("org_id") if group != 1 else None,
        guardian_consent=values.get("guardian_consent"),
        channel=ctx.identity.channel,
        locale=ctx.locale,
    )


async def _summary(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "edit":
        return Accept(goto="edit_field")
    if answer.choice_id != "confirm":
        return choose()
    citizen = await register(ctx.uow, ctx.identity.id, _new_citizen(ctx), _agreement(ctx), ctx.now)
    return Finish((t("reg.done", name=citizen.full_name),))


def _agreement(ctx: Ctx) -> Agreement:
    """What was agreed on the way, one purpose at a time; for a child, by whom."""
    values = ctx.values
    guardian = bool(values.get("minor") and values.get("guardian_name"))
    return Agreement(
        notice_version=str(values["consent_version"]),
        given_at=datetime.fromisoformat(str(values["consent_at"])),
        purposes=tuple(values["consent_purposes"]),
        guardian_name=str(values["guardian_name"]) if guardian else None,
        guardian_relation=str(values.get("guardian_relation") or "") if guardian else None,
    )


def _edit_field_prompt(ctx: Ctx) -> Prompt:
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


async def _edit_field(ctx: Ctx, answer: Answer) -> Outcome:
    hub = str(ctx.values.get("_hub", "summary"))
    if answer.choice_id == "back":
        return Accept(goto=hub)
    if answer.choice_id in FIELD_LABELS:
        return Accept({"_edit": True}, goto=answer.choice_id)
    return choose()


def _year_unknown(ctx: Ctx) -> bool:
    """The year of birth is asked unless it was typed at the age question."""
    return not isinstance(ctx.values.get("birth_year"), int) or ctx.subject is not None


FIELD_STEPS = (
    Step("group", _group_prompt, _group),
    Step("full_name", _name_prompt, _full_name),
    Step("birth_year", _year_prompt, _birth_year, applies=_year_unknown),
    Step("guardian_consent", _guardian_prompt, _guardian, applies=_profile_minor),
    Step("gender", _gender_prompt, _gender),
    Step("phone", _phone_prompt, _phone),
    Step("ward", _ward_prompt, _ward),
    Step("ward_pick", _ward_pick_prompt, _ward_pick, applies=_picking, part_of="ward"),
    Step("residential_group", _residential_prompt, _residential),
    Step("workplace", _workplace_prompt, _workplace, applies=_works),
    Step("org_pick", _org_pick_prompt, _org_pick, applies=_picking_org, part_of="workplace"),
)
EDIT_STEP = Step("edit_field", _edit_field_prompt, _edit_field)


def registration_flow() -> Flow:
    return Flow(
        REGISTRATION_FLOW,
        (
            Step("age", _age_prompt, _age),
            Step("guardian_name", _guardian_name_prompt, _guardian_name, applies=_names_guardian),
            Step("guardian_relation", _relation_prompt, _relation, applies=_names_guardian),
            Step("consent", _consent_prompt, _consent),
            Step("consent_full", _consent_full_prompt, _consent),
            Step("consent_share", _share_prompt, _share),
            Step("consent_stats", _stats_prompt, _stats),
            *FIELD_STEPS,
            Step("summary", _summary_prompt, _summary),
            EDIT_STEP,
        ),
        hub="summary",
        cancel_text=t("reg.cancelled"),
    )


async def greet_citizen(ctx: Ctx) -> Text:
    """What a registered citizen with no conversation going is told (the engine's ``greet``)."""
    citizen = ctx.subject
    assert citizen is not None
    return t("home.registered", name=citizen.full_name)


# -- profile ---------------------------------------------------------------------------------


async def _profile_init(ctx: Ctx) -> dict[str, Any]:
    """The citizen's fields as the flow's values: the same names the field steps fill."""
    citizen = ctx.subject
    assert citizen is not None
    values = {
        field.name: getattr(citizen, field.name)
        for field in fields(NewCitizen)
        if field.name not in ("channel", "locale")
    }
    return {"_hub": "profile", **values}


async def _profile_save(ctx: Ctx) -> None:
    """Store the edited profile, and record each corrected field (what changed, when, by which
    account) for ``/mydata``."""
    citizen = ctx.subject
    assert citizen is not None
    account = f"{ctx.identity.channel}:{ctx.identity.external_id}"
    ctx.subject = await correct_profile(ctx.uow, citizen, _new_citizen(ctx), account, ctx.now)


def _profile_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("profile.prompt", details=_details(ctx.values)),
        (
            ChoiceSpec("edit", t("common.edit")),
            ChoiceSpec("consents", t("profile.consents")),
            ChoiceSpec("delete", t("profile.delete")),
            ChoiceSpec("done", t("profile.done"), "done"),  # «xong», «rồi», «ok»
        ),
        Expect.CHOICE,
        short=t("profile.short"),
    )


async def _profile(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "edit":
        return Accept(goto="edit_field")
    if answer.choice_id == "consents":
        citizen = ctx.subject
        assert citizen is not None
        given = sorted(await active_purposes(ctx.uow, citizen.id))
        return Accept({"purposes": given}, goto="consents")
    if answer.choice_id == "delete":
        return Accept(goto="delete_confirm")
    if answer.choice_id == "done":
        return Finish((t("profile.closed"),))
    return choose()


def _consents_prompt(ctx: Ctx) -> Prompt:
    """The consents given, each with its state, and each to withdraw or give on its own."""
    given = set(ctx.values.get("purposes") or ())
    lines = tuple(
        t(
            "profile.consent.line",
            purpose=label,
            state=t("profile.consent.given")
            if purpose in given
            else t("profile.consent.not_given"),
        )
        for purpose, label in PURPOSE_LABELS.items()
    )
    choices = [
        ChoiceSpec(
            f"toggle:{purpose}",
            t("profile.consent.withdraw", purpose=PURPOSE_LABELS[purpose])
            if purpose in given
            else t("profile.consent.give", purpose=PURPOSE_LABELS[purpose]),
        )
        for purpose in (SHARING, STATISTICS)
    ]
    choices.append(ChoiceSpec("withdraw_all", t("profile.delete")))
    choices.append(ChoiceSpec("back", t("common.back_to_summary")))
    return Prompt(
        t("profile.consents.prompt", lines=Joined(lines, "\n")), tuple(choices), Expect.CHOICE
    )


async def _consents(ctx: Ctx, answer: Answer) -> Outcome:
    citizen = ctx.subject
    assert citizen is not None
    choice = answer.choice_id or ""
    if choice == "back":
        return Accept(goto="profile")
    if choice == "withdraw_all":  # registration is the purpose of everything: erase it all
        return Accept(goto="delete_confirm")
    purpose = choice.removeprefix("toggle:")
    if purpose not in (SHARING, STATISTICS):
        return choose()
    given = set(await active_purposes(ctx.uow, citizen.id))
    bundle = services(ctx)
    if purpose in given:
        # withdrawing the sharing takes a declaration waiting for review back from the
        # coordinators, who are told it is gone
        returned = await withdraw(
            ctx.uow, citizen, purpose, ctx.now, year=bundle.year(ctx.now), admins=bundle.admins
        )
        given.discard(purpose)
        notice = (
            t("profile.consent.withdrawn", purpose=PURPOSE_LABELS[purpose])
            if returned is None
            else t("profile.consent.withdrawn.submitted")
        )
    else:
        await give(
            ctx.uow, citizen.id, purpose, bundle.notice_version, ctx.identity.channel, ctx.now
        )
        given.add(purpose)
        notice = t("profile.consent.recorded", purpose=PURPOSE_LABELS[purpose])
    return Accept({"purposes": sorted(given)}, goto="consents", notice=notice)


def _delete_prompt(ctx: Ctx) -> Prompt:
    return Prompt(
        t("profile.delete.prompt"),
        (
            ChoiceSpec("delete", t("profile.delete.confirm"), "yes"),
            ChoiceSpec("keep", t("profile.delete.keep"), "no"),
        ),
        Expect.CHOICE,
    )


async def _delete_confirm(ctx: Ctx, answer: Answer) -> Outcome:
    """Withdrawing consent erases everything about the citizen (``erase_citizen``)."""
    if answer.choice_id == "keep":
        return Accept(goto="profile")
    if answer.choice_id != "delete":
        return choose()
    citizen = ctx.subject
    assert citizen is not None
    await _erase(ctx, citizen)
    return Finish((t("profile.deleted"),))


async def _erase(ctx: Ctx, citizen: Citizen) -> None:
    blobs = await erase_citizen(ctx.uow, citizen, ctx.now)
    bundle = services(ctx)
    erased, compact = bundle.erased, bundle.compact
    if erased is not None:
        ctx.after_commit.append(lambda: erased(blobs))  # the files, once the rows are gone
    if compact is not None:  # the confirmation itself names the account until it is sent
        ctx.after_delivery.append(compact)


async def forget_citizen(ctx: Ctx) -> None:
    """The platform says the user took back the app's access (a Zalo OA's ``user_withdraw``):
    the same erasure as «Xoá dữ liệu của tôi», without asking (they can no longer answer)."""
    if ctx.subject is not None:
        await _erase(ctx, ctx.subject)


def profile_flow() -> Flow:
    return Flow(
        PROFILE_FLOW,
        (
            Step("profile", _profile_prompt, _profile),
            Step("delete_confirm", _delete_prompt, _delete_confirm),
            Step("consents", _consents_prompt, _consents),
            EDIT_STEP,
            *FIELD_STEPS,
        ),
        init=_profile_init,
        hub="profile",
        on_hub_return=_profile_save,
        cancel_text=t("profile.cancelled"),
    )
