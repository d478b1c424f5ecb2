"""What the staff's use cases say, as catalog Texts (rendered later, in each reader's locale):
a declaration's result by the rule, the coordinator's adjustments as the citizen reads them,
and a staff account as officials name it. The chat's flows show the same Texts."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.criteria import CriteriaSet, Evaluation
from bot.domain.records import IndicatorAnswer
from bot.engine.types import Joined, Text, t

__all__ = [
    "OTHER_CHANNEL",
    "adjustments_text",
    "channel_text",
    "person",
    "reasons_text",
    "result_text",
]


def reasons_text(criteria: CriteriaSet, evaluation: Evaluation) -> Joined:
    """Why scores do not pass the rule: «tổng điểm 76 dưới 80; chỉ số 2 dưới 5 điểm»."""
    reasons: list[Text | str] = []
    if evaluation.below_total:
        reasons.append(t("decl.reason.total", total=evaluation.total, min=criteria.min_total))
    reasons.extend(t("decl.reason.low", n=n, min=minimum) for n, minimum in evaluation.low)
    return Joined(tuple(reasons))


def result_text(criteria: CriteriaSet, evaluation: Evaluation, *, final: bool = False) -> Text:
    """The result by the rule: provisional while the citizen declares and the coordinator
    reviews, ``final`` once it is decided (no "tạm tính" then)."""
    if not evaluation.complete:
        return t("decl.result.incomplete", answered=evaluation.answered, size=criteria.size)
    if evaluation.recognised:
        return t("decl.result.pass.final") if final else t("decl.result.pass")
    joined = reasons_text(criteria, evaluation)
    return (
        t("decl.result.fail.final", reasons=joined)
        if final
        else t("decl.result.fail", reasons=joined)
    )


def adjustments_text(answers: Mapping[int, IndicatorAnswer], criteria: CriteriaSet) -> Text | str:
    """The coordinator's adjustments as the citizen reads them, with the total they make: empty
    when nothing was adjusted."""
    changed = sorted(
        (number, answer.score, answer.verified_score)
        for number, answer in answers.items()
        if answer.verified_score is not None and answer.verified_score != answer.score
    )
    if not changed:
        return ""
    scores = {
        number: answer.verified_score if answer.verified_score is not None else answer.score
        for number, answer in answers.items()
    }
    evaluation = criteria.evaluate(scores)
    lines = tuple(
        t("adjusted.line", n=number, own="—" if own is None else own, score=verified)
        for number, own, verified in changed
    )
    return t(
        "adjusted.summary",
        lines=Joined(lines),
        total=evaluation.total,
        max_total=criteria.max_total,
        result=result_text(criteria, evaluation),
    )


# what a channel no catalog entry names reads (``bot.i18n``'s fallback for ``channel.<name>``)
OTHER_CHANNEL = t("channel.other")


def channel_text(channel: str) -> Text:
    """A chat channel in words («Telegram», «kênh chạy thử trên máy»), never its code name:
    the catalog's ``channel.<name>``, which the channel's description declares (the domain
    names no channel); one no channel has reads «kênh khác» (``bot.i18n``'s fallback)."""
    return t(f"channel.{channel}")


def person(account: str, name: str | None) -> Text:
    """How officials read a staff account: the name it gave and its channel in words, never
    the account id."""
    channel = account.partition(":")[0]
    words = channel_text(channel)
    if name:
        return t("staff.person", name=name, channel=words)
    return t("web.person.unnamed", channel=words)
