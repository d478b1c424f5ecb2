"""The yearly self-declaration: ten indicators one at a time, evidence, review, submit.

Diagram: ``declaration.mmd`` beside this file. Steps are named after what they fill:
``indicator_3_score``, ``indicator_3_evidence``. Scores, notes and files are written to the
declaration as they are given, so leaving at any point (or a restart) loses nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.domain.consents import SHARING, active_purposes
from bot.domain.criteria import CriteriaSet
from bot.domain.records import Declaration, EvidenceFile, Staff
from bot.domain.usecases.consents import give
from bot.domain.usecases.declarations import (
    EDITABLE_STATUSES,
    Sharing,
    attach_evidence,
    save_note,
    save_score,
    start,
    submit,
)
from bot.domain.usecases.texts import adjustments_text, reasons_text, result_text
from bot.domain.validation import visible_text
from bot.engine import (
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
from bot.engine.phrases import phrases
from bot.flows.common import (
    Ctx,
    agree_or_later,
    choose,
    guide_text,
    local_date,
    national_phone,
    services,
    typed_score,
)

__all__ = [
    "DECLARATION_FLOW",
    "EDITABLE_STATUSES",
    "adjustments_text",
    "declaration_flow",
    "reasons_text",
    "status_text",
]

DECLARATION_FLOW = "declaration"


# -- state kept in the conversation: a snapshot of the declaration for the prompts -------------


def _criteria(ctx: Ctx) -> CriteriaSet:
    return services(ctx).criteria[str(ctx.values["criteria_set"])]


def _scores(ctx: Ctx) -> dict[int, int | None]:
    """The scores as they stand: the citizen's, or the coordinator's where adjusted (what the
    citizen sees, what is evaluated and what a resubmission sends)."""
    scores: dict[int, int | None] = {
        int(k): v for k, v in dict(ctx.values.get("scores") or {}).items()
    }
    scores.update({number: verified for number, (verified, _) in _adjusted(ctx).items()})
    return scores


def _adjusted(ctx: Ctx) -> dict[int, tuple[int, int | None]]:
    """The coordinator's adjustments still in force: indicator → (their score, the citizen's)."""
    return {
        int(k): (int(v[0]), None if v[1] is None else int(v[1]))
        for k, v in dict(ctx.values.get("adjusted") or {}).items()
    }


def _counts(ctx: Ctx) -> dict[int, int]:
    return {int(k): int(v) for k, v in dict(ctx.values.get("files") or {}).items()}


def _notes(ctx: Ctx) -> dict[int, str]:
    return {int(k): str(v) for k, v in dict(ctx.values.get("notes") or {}).items() if v}


def _with(ctx: Ctx, key: str, indicator: int, value: Any) -> dict[str, Any]:
    """The ``values`` update that sets one indicator's entry of a snapshot map."""
    current = dict(ctx.values.get(key) or {})
    current[str(indicator)] = value
    return {key: current}


def _first_missing(ctx: Ctx) -> int | None:
    scores = _scores(ctx)
    return next((i.id for i in _criteria(ctx).indicators if scores.get(i.id) is None), None)


def _minimum(criteria: CriteriaSet, indicator_id: int) -> int:
    """The lowest score the recognition rule allows for one indicator (0 if none)."""
    found = [m.min for m in criteria.minimums if indicator_id in m.indicators]
    return max(found, default=0)


def _score_step(indicator: int) -> str:
    return f"indicator_{indicator}_score"


def _evidence_step(indicator: int) -> str:
    return f"indicator_{indicator}_evidence"


def _check_step(indicator: int) -> str:
    """A text typed at the evidence question that may not be evidence: "is this a score, or a
    description?" asked before anything is stored."""
    return f"indicator_{indicator}_check"


def _after(ctx: Ctx, indicator: int) -> Accept:
    """Where to go once an indicator is done: back to the review after an edit, else on."""
    if ctx.values.get("_edit"):
        return Accept({"_edit": False}, goto="review")
    ids = [i.id for i in _criteria(ctx).indicators]
    later = ids[ids.index(indicator) + 1 :]
    reopened = _reopened(ctx)
    if reopened:
        following = [i for i in later if i in reopened]
    else:
        scores = _scores(ctx)
        following = [i for i in later if scores.get(i) is None]
    return Accept(goto=_score_step(following[0]) if following else "review")


def _leave(ctx: Ctx) -> Finish:
    done = sum(1 for v in _scores(ctx).values() if v is not None)
    return Finish((t("decl.saved", answered=done, total=_criteria(ctx).size),))


# -- start -------------------------------------------------------------------------------


async def _guard(ctx: Ctx) -> Text | None:
    citizen = ctx.subject
    assert citizen is not None
    year = services(ctx).year(ctx.now)
    declaration = await ctx.uow.declarations.for_year(citizen.id, year)
    if declaration is None or declaration.status in EDITABLE_STATUSES:
        return None
    return _locked_text(declaration)


def _locked_text(declaration: Declaration) -> Text:
    if declaration.status == "submitted" and declaration.submitted_at is not None:
        return t("decl.locked", date=local_date(declaration.submitted_at))
    return t("decl.decided", year=declaration.year)


async def _init(ctx: Ctx) -> dict[str, Any]:
    citizen = ctx.subject
    assert citizen is not None
    bundle = services(ctx)
    year = bundle.year(ctx.now)
    declaration = await start(ctx.uow, citizen.id, year, bundle.criteria_set, ctx.now)
    answers = await ctx.uow.declarations.answers(declaration.id)
    returned = declaration.status == "returned"
    return {
        "declaration_id": declaration.id,
        "reopened": list(declaration.reopened) if returned else [],
        "return_note": declaration.return_note if returned else None,
        "criteria_set": declaration.criteria_set,
        "year": year,
        "group": citizen.group,
        "scores": {str(i): a.score for i, a in answers.items() if a.score is not None},
        # a coordinator's adjustment survives a return: the citizen sees it and resubmits it
        "adjusted": {
            str(i): [a.verified_score, a.score]
            for i, a in answers.items()
            if a.verified_score is not None and a.verified_score != a.score
        },
        "files": {str(i): a.evidence_count for i, a in answers.items() if a.evidence_count},
        "notes": {str(i): a.note for i, a in answers.items() if a.note},
    }


def _reopened(ctx: Ctx) -> list[int]:
    """The indicators a coordinator returned for more; empty when all are open."""
    return [int(n) for n in ctx.values.get("reopened") or []]


def _editable(ctx: Ctx, indicator: int) -> bool:
    reopened = _reopened(ctx)
    return not reopened or indicator in reopened


def _entry(ctx: Ctx) -> str:
    if _reopened(ctx):  # straight to what the coordinator asked about
        return _score_step(_reopened(ctx)[0])
    scores = _scores(ctx)
    if not any(v is not None for v in scores.values()):
        return "intro"
    missing = _first_missing(ctx)
    return _score_step(missing) if missing is not None else "review"


def _intro_prompt(ctx: Ctx) -> Prompt:
    criteria = _criteria(ctx)
    min_each = min((m.min for m in criteria.minimums), default=0)
    return Prompt(
        t(
            "decl.intro",
            year=ctx.values["year"],
            size=criteria.size,
            competencies=len(criteria.competencies),
            min_total=criteria.min_total,
            max_total=criteria.max_total,
            min_each=min_each,
        ),
        (
            ChoiceSpec("begin", t("decl.intro.begin"), "yes"),
            ChoiceSpec("later", t("decl.intro.later"), "no"),
        ),
        Expect.CHOICE,
        short=t("decl.intro.short"),
    )


async def _intro(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "begin":
        first = _first_missing(ctx)
        return Accept(goto=_score_step(first) if first is not None else "review")
    if answer.choice_id == "later":
        return Finish((t("decl.later"),))
    return choose()


# -- one indicator: its score -------------------------------------------------------------


def _score_steps(indicator_id: int, first: int) -> tuple[Step, Step, Step]:
    def score_prompt(ctx: Ctx) -> Prompt:
        criteria = _criteria(ctx)
        indicator = criteria.indicator(indicator_id)
        group = int(ctx.values.get("group") or 1)
        position = [i.id for i in criteria.indicators].index(indicator_id) + 1
        current = _scores(ctx).get(indicator_id)
        choices = [ChoiceSpec(f"s{n}", str(n)) for n in range(indicator.max + 1)]
        if current is not None:  # one tap keeps it ("Giữ 8 điểm"); a photo sent now is evidence
            choices.append(ChoiceSpec("keep", t("decl.score.keep", score=current), "yes"))
        choices.append(ChoiceSpec("skip", t("decl.score.skip")))
        if indicator_id != first and not _reopened(ctx):
            choices.append(ChoiceSpec("back", t("decl.score.back")))
        choices.append(ChoiceSpec("leave", t("decl.leave")))
        asked: Text | str = ""
        if indicator_id in _reopened(ctx) and ctx.values.get("return_note"):
            asked = t("decl.score.asked", note=str(ctx.values["return_note"]))
        return Prompt(
            t(
                "decl.score.prompt",
                position=position,
                size=criteria.size,
                competency=criteria.competencies[indicator.competency][ctx.locale],
                indicator=indicator.wording(group, ctx.locale),
                hint=indicator.hint_for(group, ctx.locale),
                max=indicator.max,
                current=_current_text(ctx, indicator_id),
                asked=asked,
            ),
            tuple(choices),
            Expect.FILE if current is not None else Expect.CHOICE,
            numeric=True,
            short=t("decl.score.short", n=indicator_id, max=indicator.max),
        )

    async def score(ctx: Ctx, answer: Answer) -> Outcome:
        criteria = _criteria(ctx)
        indicator = criteria.indicator(indicator_id)
        choice = answer.choice_id
        current = _scores(ctx).get(indicator_id)
        if not _editable(ctx, indicator_id):
            return Accept(notice=t("decl.returned.locked", n=indicator_id), goto="review")
        if choice == "skip":
            return _after(ctx, indicator_id)
        if choice == "back":
            return Accept(goto=_score_step(indicator_id - 1))
        if choice == "leave":
            return _leave(ctx)
        if choice == "keep" and current is not None:
            return Accept(goto=_evidence_step(indicator_id))
        if answer.file is not None:
            if current is None:
                return Retry(t("decl.score.error.file_first", max=indicator.max))
            return await _attach(ctx, indicator_id, answer)  # the score stays as it is
        if choice and choice.startswith("s") and choice[1:].isdigit():
            value: int | str = int(choice[1:])
        else:
            value = typed_score(answer.text)
        if value == "decimal":
            return Retry(t("decl.score.error.whole", max=indicator.max))
        if value == "dont_know":
            return Retry(guide_text(indicator, ctx.locale))
        if not isinstance(value, int):
            return Retry(t("decl.score.error.digits", max=indicator.max))
        if not 0 <= value <= indicator.max:
            return Retry(t("decl.score.error.range", max=indicator.max))
        return await _set_score(ctx, indicator_id, value)

    # -- and its evidence ---------------------------------------------------------------

    def evidence_prompt(ctx: Ctx) -> Prompt:
        limits = services(ctx).evidence
        indicator = _criteria(ctx).indicator(indicator_id)
        note = _notes(ctx).get(indicator_id)
        photos_only = ctx.identity.channel in services(ctx).photo_only_channels
        group = int(ctx.values.get("group") or 1)
        return Prompt(
            t(
                "decl.evidence.prompt",
                how=_how_to_send(photos_only, limits.max_files, limits.max_bytes // (1024 * 1024)),
                n=indicator_id,
                scored=_scored_text(ctx, indicator_id),
                hint=indicator.hint_for(group, ctx.locale),
                max_files=limits.max_files,
                max_mb=limits.max_bytes // (1024 * 1024),
                files=_counts(ctx).get(indicator_id, 0),
                note=t("decl.evidence.note", note=note) if note else "",
            ),
            (
                ChoiceSpec("done", t("decl.evidence.done"), "done"),  # "xong rồi", "rồi", "ok"
                ChoiceSpec("none", t("decl.evidence.none"), "no"),  # "k", "ko", "không có"
                ChoiceSpec("back", t("decl.evidence.back")),
                ChoiceSpec("leave", t("decl.leave")),
            ),
            Expect.FILE,
            # a number typed here is a score (asked about), never a position in this menu
            numeric=True,
            short=t("decl.evidence.short", n=indicator_id),
        )

    async def evidence(ctx: Ctx, answer: Answer) -> Outcome:
        choice = answer.choice_id
        if not _editable(ctx, indicator_id):
            return Accept(notice=t("decl.returned.locked", n=indicator_id), goto="review")
        if choice in ("done", "none"):
            return _after(ctx, indicator_id)
        if choice == "back":
            return Accept(goto=_score_step(indicator_id))
        if choice == "leave":
            return _leave(ctx)
        if answer.file is not None:
            return await _attach(ctx, indicator_id, answer)
        if answer.text:
            return await _typed_evidence(ctx, indicator_id, answer.text)
        return choose()

    def check_prompt(ctx: Ctx) -> Prompt:
        return _check_prompt(ctx, indicator_id)

    async def check(ctx: Ctx, answer: Answer) -> Outcome:
        return await _check(ctx, indicator_id, answer)

    return (
        Step(_score_step(indicator_id), score_prompt, score),
        Step(_evidence_step(indicator_id), evidence_prompt, evidence),
        Step(_check_step(indicator_id), check_prompt, check, part_of=_evidence_step(indicator_id)),
    )


def _scored_text(ctx: Ctx, indicator_id: int) -> Text:
    """«tự chấm 8 điểm», or «7 điểm, cán bộ đã điều chỉnh» where the coordinator adjusted it."""
    score = _scores(ctx).get(indicator_id, "—")
    if indicator_id in _adjusted(ctx):
        return t("decl.evidence.scored_adjusted", score=score)
    return t("decl.evidence.scored", score=score)


def _current_text(ctx: Ctx, indicator_id: int) -> Text | str:
    current = _scores(ctx).get(indicator_id)
    if current is None:
        return ""
    adjusted = _adjusted(ctx).get(indicator_id)
    if adjusted is not None and adjusted[1] is not None:
        return t("decl.score.current_adjusted", score=current, own=adjusted[1])
    return t("decl.score.current", score=current)


async def _set_score(ctx: Ctx, indicator_id: int, value: int, notice: Text | None = None) -> Accept:
    """Store one indicator's score and go to its evidence question."""
    criteria = _criteria(ctx)
    current = _scores(ctx).get(indicator_id)
    # a coordinator's adjustment applies to the score it adjusted, not to a new one
    replaced = value != current and (bool(_reopened(ctx)) or indicator_id in _adjusted(ctx))
    await save_score(
        ctx.uow,
        int(ctx.values["declaration_id"]),
        indicator_id,
        value,
        ctx.now,
        drop_adjustment=replaced,
    )
    values = _with(ctx, "scores", indicator_id, value)
    if replaced:
        adjusted = dict(ctx.values.get("adjusted") or {})
        adjusted.pop(str(indicator_id), None)
        values["adjusted"] = adjusted
    minimum = _minimum(criteria, indicator_id)
    low = t("decl.score.low", score=value, min=minimum) if value < minimum else None
    both = Joined((notice, low), "\n") if notice is not None and low is not None else None
    return Accept(values, goto=_evidence_step(indicator_id), notice=both or notice or low)


def _how_to_send(photos_only: bool, max_files: int, max_mb: int) -> Text:
    if photos_only:
        return t("decl.evidence.how_photos", max_files=max_files, max_mb=max_mb)
    return t("decl.evidence.how_files", max_files=max_files, max_mb=max_mb)


async def _attach(ctx: Ctx, indicator_id: int, answer: Answer) -> Outcome:
    file = answer.file
    assert file is not None
    limits = services(ctx).evidence
    if file.problem == "too_large":
        return Retry(t("decl.evidence.error.too_large", max_mb=limits.max_bytes // (1024 * 1024)))
    if file.problem == "wrong_type":
        return Retry(t("decl.evidence.error.type"))
    if file.problem == "storage_failed":
        return Retry(t("decl.evidence.error.storage"))
    if file.problem == "not_found":
        return Retry(t("decl.evidence.error.not_found", name=(file.name or "")[:80]))
    if file.problem is not None or file.sha256 is None:
        return Retry(t("decl.evidence.error.download"))
    count = _counts(ctx).get(indicator_id, 0)
    if count >= limits.max_files:
        return Retry(t("decl.evidence.error.too_many", max_files=limits.max_files))
    added = await attach_evidence(
        ctx.uow,
        EvidenceFile(
            int(ctx.values["declaration_id"]),
            indicator_id,
            file.kind,
            file.mime_type or "application/octet-stream",
            file.size or 0,
            file.sha256,
            (file.name or "")[:255] or None,
            ctx.identity.channel,
            file.file_id[:255],
        ),
        ctx.now,
    )
    if not added:
        return Accept(notice=t("decl.evidence.duplicate"), goto=_evidence_step(indicator_id))
    return Accept(
        _with(ctx, "files", indicator_id, count + 1),
        notice=t("decl.evidence.received", files=count + 1, max_files=limits.max_files),
        goto=_evidence_step(indicator_id),
    )


def _reads_as_description(text: str) -> bool:
    """Whether a message typed at the evidence question reads as a description of evidence
    ("Có thẻ thư viện, đọc sách mỗi tối"): a few words, not a question."""
    words = text.split()
    letters = sum(1 for ch in text if ch.isalpha())
    return len(words) >= 3 and letters >= 12 and not phrases().is_question(text)


def _following(ctx: Ctx, indicator: int) -> int | None:
    """The indicator the declaration moves on to after this one, if any (as ``_after``)."""
    if ctx.values.get("_edit"):
        return None
    ids = [i.id for i in _criteria(ctx).indicators]
    later = ids[ids.index(indicator) + 1 :]
    reopened = _reopened(ctx)
    scores = _scores(ctx)
    following = [i for i in later if (i in reopened if reopened else scores.get(i) is None)]
    return following[0] if following else None


async def _typed_evidence(ctx: Ctx, indicator_id: int, typed: str) -> Outcome:
    """A text at the evidence question: a description is kept (added to one given before, never
    replacing it); a number is asked about (a new score for this indicator, or the next one's?);
    a question gets an explanation; anything shorter is asked about before it is stored."""
    text = visible_text(typed)
    if not text:
        return choose()
    number = phrases().number(text)
    if number is not None or text.lstrip("+-").isdigit():
        maximum = _criteria(ctx).indicator(indicator_id).max
        if number is None or not 0 <= number <= maximum:
            return Retry(t("decl.evidence.error.number", max=maximum))
        return Accept({"pending": {"score": number}}, goto=_check_step(indicator_id))
    if phrases().is_dont_know(text) or phrases().is_question(text):
        group = int(ctx.values.get("group") or 1)
        hint = _criteria(ctx).indicator(indicator_id).hint_for(group, ctx.locale)
        return Retry(t("decl.evidence.explain", n=indicator_id, hint=hint))
    if not _reads_as_description(text):
        return Accept({"pending": {"note": text}}, goto=_check_step(indicator_id))
    return await _describe(ctx, indicator_id, text)


async def _describe(ctx: Ctx, indicator_id: int, text: str) -> Outcome:
    """Keep a description: added after one given before, quoted back as saved."""
    limit = services(ctx).evidence.max_note
    before = _notes(ctx).get(indicator_id)
    note = text
    if before:  # added after the first, never replacing it
        stem = before.rstrip()
        note = f"{stem}{'' if stem[-1:] in '.;!' else ';'} {text}"
    if len(note) > limit:
        if before:
            return Retry(t("decl.evidence.error.note_full", limit=limit, room=limit - len(before)))
        return Retry(t("decl.evidence.error.note_long", limit=limit))
    await save_note(ctx.uow, int(ctx.values["declaration_id"]), indicator_id, note, ctx.now)
    saved = (
        t("decl.evidence.note_added", n=indicator_id, text=text, note=note)
        if before
        else t("decl.evidence.note_saved", n=indicator_id, note=note)
    )
    return Accept(
        {**_with(ctx, "notes", indicator_id, note), "pending": None},
        notice=saved,
        goto=_evidence_step(indicator_id),
    )


def _check_prompt(ctx: Ctx, indicator_id: int) -> Prompt:
    pending = dict(ctx.values.get("pending") or {})
    if "score" in pending:
        value = int(pending["score"])
        current = _scores(ctx).get(indicator_id)
        following = _following(ctx, indicator_id)
        choices = []
        if value != current:
            choices.append(ChoiceSpec("fix", t("decl.check.fix", n=indicator_id, score=value)))
        if following is not None:
            choices.append(ChoiceSpec("next", t("decl.check.next", n=following, score=value)))
        choices.append(ChoiceSpec("keep", t("decl.check.keep", score=current), "no"))
        if len(choices) == 2:  # one way to take it: a yes takes it
            choices[0] = replace(choices[0], means="yes")
        if value == current and following is not None:
            text = t("decl.check.score_next", n=following, score=value)
        elif following is not None:
            text = t("decl.check.score_or_next", n=indicator_id, score=value, current=current,
                     next=following)  # fmt: skip
        else:
            text = t("decl.check.score", n=indicator_id, score=value, current=current)
        return Prompt(text, tuple(choices), Expect.CHOICE)
    return Prompt(
        t("decl.check.note", n=indicator_id, text=str(pending.get("note") or "")),
        (
            ChoiceSpec("save", t("decl.check.save"), "yes"),
            ChoiceSpec("drop", t("decl.check.drop"), "no"),
        ),
        Expect.CHOICE,
    )


async def _check(ctx: Ctx, indicator_id: int, answer: Answer) -> Outcome:
    pending = dict(ctx.values.get("pending") or {})
    choice = answer.choice_id
    if choice in ("keep", "drop"):
        return Accept({"pending": None}, goto=_evidence_step(indicator_id))
    if choice == "save" and pending.get("note"):
        return await _describe(ctx, indicator_id, str(pending["note"]))
    if choice == "fix" and "score" in pending:
        ctx.values["pending"] = None
        value = int(pending["score"])
        return await _set_score(
            ctx, indicator_id, value, t("decl.check.fixed", n=indicator_id, score=value)
        )
    following = _following(ctx, indicator_id)
    if choice == "next" and "score" in pending and following is not None:
        ctx.values["pending"] = None
        value = int(pending["score"])
        return await _set_score(
            ctx, following, value, t("decl.check.moved", n=following, score=value)
        )
    if answer.text:  # another text instead of an answer: read it as at the evidence question
        intent = phrases().intent(answer.text)
        if intent in ("yes", "no"):  # a yes or no that fits no single choice: ask again
            return choose()
        ctx.values["pending"] = None
        if intent == "done":
            return _after(ctx, indicator_id)
        outcome = await _typed_evidence(ctx, indicator_id, answer.text)
        if isinstance(outcome, Retry):
            back = _evidence_step(indicator_id)
            return Accept({"pending": None}, goto=back, notice=outcome.reason)
        return outcome
    return choose()


# -- review and submit --------------------------------------------------------------------


def _review_prompt(ctx: Ctx) -> Prompt:
    criteria = _criteria(ctx)
    scores, counts = _scores(ctx), _counts(ctx)
    notes = _notes(ctx)
    lines: list[Text | str] = []
    for indicator in criteria.indicators:
        score = scores.get(indicator.id)
        evidence = counts.get(indicator.id, 0) + (1 if indicator.id in notes else 0)
        short = indicator.short[ctx.locale]
        if score is None:
            lines.append(t("decl.review.line_missing", n=indicator.id, short=short))
            continue
        low = score < _minimum(criteria, indicator.id)
        adjusted = _adjusted(ctx).get(indicator.id)
        lines.append(
            t(
                "decl.review.line",
                n=indicator.id,
                short=short,
                score=score,
                adjusted=t("decl.review.adjusted", own=adjusted[1])
                if adjusted is not None and adjusted[1] is not None
                else "",
                evidence=t("decl.review.evidence", count=evidence) if evidence else "",
                low=t("decl.review.low", min=_minimum(criteria, indicator.id)) if low else "",
            )
        )
    evaluation = criteria.evaluate(scores)
    choices = [ChoiceSpec("submit", t("decl.review.submit"), "yes")]
    if not evaluation.complete:
        choices.append(ChoiceSpec("continue", t("decl.review.continue")))
    choices += [ChoiceSpec("edit", t("decl.review.edit")), ChoiceSpec("leave", t("decl.leave"))]
    return Prompt(
        t(
            "decl.review.prompt",
            year=ctx.values["year"],
            lines=Joined(tuple(lines), "\n"),
            total=evaluation.total,
            max_total=criteria.max_total,
            result=result_text(criteria, evaluation),
        ),
        tuple(choices),
        Expect.CHOICE,
        short=t("decl.review.short", total=evaluation.total, max_total=criteria.max_total),
    )


async def _review(ctx: Ctx, answer: Answer) -> Outcome:
    criteria = _criteria(ctx)
    choice = answer.choice_id
    if choice == "edit":
        return Accept(goto="edit_pick")
    if choice == "leave":
        return _leave(ctx)
    missing = [i.id for i in criteria.indicators if _scores(ctx).get(i.id) is None]
    if choice == "continue" and missing:
        return Accept(goto=_score_step(missing[0]))
    if choice == "submit":
        if missing:
            return Retry(t("decl.submit.incomplete", missing=", ".join(map(str, missing))))
        return await _towards_submit(ctx)
    return choose()


async def _towards_submit(ctx: Ctx, sharing: Sharing | None = None) -> Outcome:
    """Submitting needs the consent to share with the ward's coordinator (``sharing``: given
    just now), and a second word when the scores would not be recognised."""
    criteria = _criteria(ctx)
    citizen = ctx.subject
    assert citizen is not None
    if sharing is None and SHARING not in await active_purposes(ctx.uow, citizen.id):
        return Accept(goto="consent_share")
    if not criteria.evaluate(_scores(ctx)).recognised and not ctx.values.get("low_confirmed"):
        if sharing is not None:  # the consent is kept; the scores are asked about first
            await give(
                ctx.uow, citizen.id, SHARING, sharing.notice_version, sharing.channel, ctx.now
            )
        return Accept(goto="confirm_submit")  # say what the scores mean before sending
    return await _submit(ctx, criteria, sharing)


def _share_prompt(ctx: Ctx) -> Prompt:
    return agree_or_later(t("decl.share.prompt"), t("decl.share.agree"), t("reg.consent.later"))


async def _share(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "agree":
        return await _towards_submit(
            ctx, Sharing(services(ctx).notice_version, ctx.identity.channel)
        )
    if answer.choice_id == "later":
        return _leave(ctx)
    return choose()


def _confirm_submit_prompt(ctx: Ctx) -> Prompt:
    criteria = _criteria(ctx)
    evaluation = criteria.evaluate(_scores(ctx))
    return Prompt(
        t("decl.submit.confirm_low", result=result_text(criteria, evaluation)),
        (
            ChoiceSpec("submit", t("decl.submit.anyway"), "yes"),
            ChoiceSpec("edit", t("decl.review.edit"), "no"),
            ChoiceSpec("leave", t("decl.leave")),
        ),
        Expect.CHOICE,
    )


async def _confirm_submit(ctx: Ctx, answer: Answer) -> Outcome:
    if answer.choice_id == "submit":
        ctx.values["low_confirmed"] = True
        return await _towards_submit(ctx)
    if answer.choice_id == "edit":
        return Accept(goto="edit_pick")
    if answer.choice_id == "leave":
        return _leave(ctx)
    return choose()


async def _submit(ctx: Ctx, criteria: CriteriaSet, sharing: Sharing | None = None) -> Outcome:
    """Submit (or resubmit after a return), with the sharing consent given just now if any;
    the reviewers are told at once (``submit``), the citizen here."""
    citizen = ctx.subject
    assert citizen is not None
    bundle = services(ctx)
    submitted = await submit(
        ctx.uow,
        citizen,
        int(ctx.values["declaration_id"]),
        criteria,
        _scores(ctx),
        ctx.now,
        adjusted=bool(_adjusted(ctx)),
        admins=bundle.admins,
        sharing=sharing,
        capacity=bundle.review_capacity,
    )
    if submitted.problem == "locked":
        return Finish((_locked_text(submitted.declaration),))
    if submitted.problem == "no_sharing":
        return Accept(goto="consent_share")
    evaluation = submitted.evaluation
    assert evaluation is not None
    messages = [
        t(
            "decl.submitted",
            year=ctx.values["year"],
            total=evaluation.total,
            max_total=criteria.max_total,
            result=result_text(criteria, evaluation),
        )
    ]
    # no coordinator and no admin: say so, do not pretend it was passed on
    if not submitted.accounts:
        messages.append(t("decl.submitted.no_one"))
    elif submitted.to_admins:
        messages.append(t("decl.submitted.waiting"))
    return Finish(tuple(messages))


def _edit_prompt(ctx: Ctx) -> Prompt:
    scores = _scores(ctx)
    choices = tuple(
        ChoiceSpec(
            f"i{indicator.id}",
            t("decl.edit.choice", n=indicator.id, score=scores[indicator.id])
            if scores.get(indicator.id) is not None
            else t("decl.edit.choice_missing", n=indicator.id),
        )
        for indicator in _criteria(ctx).indicators
        if _editable(ctx, indicator.id)
    )
    return Prompt(
        t("decl.edit.prompt"),
        (*choices, ChoiceSpec("review", t("common.back_to_summary"))),
        Expect.CHOICE,
    )


async def _edit_pick(ctx: Ctx, answer: Answer) -> Outcome:
    choice = answer.choice_id or ""
    if choice == "review":
        return Accept(goto="review")
    if choice.startswith("i") and choice[1:].isdigit():
        return Accept({"_edit": True}, goto=_score_step(int(choice[1:])))
    return choose()


def declaration_flow(criteria: CriteriaSet) -> Flow:
    """Steps for every indicator id of any criteria set in use (ids are the step names)."""
    first = criteria.indicators[0].id
    indicator_steps = [step for i in criteria.indicators for step in _score_steps(i.id, first)]
    return Flow(
        DECLARATION_FLOW,
        (
            Step("intro", _intro_prompt, _intro),
            *indicator_steps,
            Step("review", _review_prompt, _review),
            Step("confirm_submit", _confirm_submit_prompt, _confirm_submit),
            Step("consent_share", _share_prompt, _share),
            Step("edit_pick", _edit_prompt, _edit_pick),
        ),
        init=_init,
        guard=_guard,
        entry=_entry,
        cancel_text=t("decl.cancelled"),
    )


# -- /status --------------------------------------------------------------------------------


async def status_text(ctx: Ctx) -> Text:
    citizen = ctx.subject
    if citizen is None:
        return t("status.not_registered")
    year = services(ctx).year(ctx.now)
    declaration = await ctx.uow.declarations.for_year(citizen.id, year)
    registered = local_date(citizen.registered_at) if citizen.registered_at else ""
    if declaration is None:
        return t("status.registered", date=registered, year=year)
    if declaration.status == "draft":
        answers = await ctx.uow.declarations.answers(declaration.id)
        criteria = services(ctx).criteria[declaration.criteria_set]
        done = sum(1 for a in answers.values() if a.score is not None)
        if done == criteria.size:  # every indicator scored, not submitted yet
            return t("status.unsubmitted", year=year)
        return t("status.declaring", year=year, answered=done, size=criteria.size)
    if declaration.status == "submitted" and declaration.submitted_at is not None:
        return t("status.submitted", year=year, date=local_date(declaration.submitted_at))
    if declaration.status == "returned":
        indicators = ", ".join(map(str, declaration.reopened))
        answers = await ctx.uow.declarations.answers(declaration.id)
        criteria = services(ctx).criteria[declaration.criteria_set]
        return t(
            "status.returned",
            year=year,
            indicators=indicators,
            note=declaration.return_note or "",
            adjusted=adjustments_text(answers, criteria),
        )
    if declaration.status == "recognised":
        answers = await ctx.uow.declarations.answers(declaration.id)
        total = sum(
            a.verified_score if a.verified_score is not None else (a.score or 0)
            for a in answers.values()
        )
        return t("status.recognised", year=year, total=total)
    if declaration.decision == "rejected":
        reviewer = await ctx.uow.staff.get(declaration.reviewer) if declaration.reviewer else None
        return t(
            "status.rejected",
            year=year,
            reason=declaration.decision_reason or "",
            contact=_contact(reviewer),
        )
    return t("status.not_recognised", year=year)


def _contact(reviewer: Staff | None) -> Text:
    """How a citizen reaches the coordinator who decided: their name, and phone if given."""
    if reviewer is None or not reviewer.display_name:
        return t("status.contact.ward")
    if reviewer.phone:
        return t(
            "status.contact.phone", name=reviewer.display_name, phone=national_phone(reviewer.phone)
        )
    return t("status.contact", name=reviewer.display_name)
