"""The review pages: the queue, one declaration (its answers, files and history), and the
decisions on it. Decisions go through ``bot.domain.usecases.decisions``, the chat's own use
cases, recorded as made on the web. The page says what it records in words an official reads:
the approve button names the result it records, opening a declaration says who holds its
review until when (Viet Nam's time)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.domain.permissions import Action, allowed, scope_of
from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen, Declaration
from bot.domain.usecases.decisions import (
    UNDO_WINDOW,
    adjust,
    approve,
    approve_clean,
    claim,
    clean_pass,
    decider_of,
    held,
    reject,
    release,
    return_for_more,
    undo_decision,
    undoable,
    verified_scores,
    verified_total,
)
from bot.domain.usecases.roles import acting_staff_id
from bot.domain.usecases.texts import result_text
from bot.domain.validation import national_phone, visible_text
from bot.engine import Text, t
from bot.handlers.web_console.auth import Visit
from bot.handlers.web_console.view import UNKNOWN, Pages, local, number
from bot.services.evidence import sniff
from bot.services.spreadsheet import WORDS

__all__ = ["Review"]

_DECIDED = ("recognised", "not_recognised")
_PASS, _FAIL = t("web.review.result.pass"), t("web.review.result.fail")
_BAD_INPUT = t("web.review.bad_input")
_BAD_REASON = t("web.review.bad_reason")
# the chat's refusals the console words its own way
_WEB_WORDS = {"rev.error.claim_lost": t("web.review.claim_lost")}
_UNDO_PROBLEMS = {"nothing": t("web.undo.nothing"), "late": t("web.undo.late")}
_FILE_KINDS = {"photo": t("web.file.photo"), "document": t("web.file.document")}


class Review(Pages):
    """``/console/`` (the queue) and ``/console/d/<number>``: reading, adjusting, deciding,
    undoing, giving the review back, and the evidence files."""

    async def queue(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        if not allowed(visit.role, Action.QUEUE):  # an officer with no ward to stand in for
            raise web.HTTPFound("/console/dashboard")
        scope = scope_of(visit.role, Action.QUEUE)
        ward = request.query.get("ward") or ""
        min_days = request.query.get("age") or ""
        # several states at once (waiting, returned, decided); waiting alone by default
        chosen = [s for s in request.query.getall("status", []) if s in QUEUE_STATES]
        statuses = tuple(dict.fromkeys(chosen)) or ("submitted",)
        now = datetime.now(UTC)
        hold = self.app.services.review_hold
        async with self.app.store.transaction() as uow:
            found = await uow.declarations.with_status(statuses, scope)
            holders = {m.id: m for m in await uow.staff.all()}
        rows = []
        for declaration, citizen in found:
            if ward and citizen.ward_code != ward:
                continue
            age = (now - (declaration.submitted_at or now)).days
            if min_days.isdigit() and age < int(min_days):
                continue
            holder = ""
            member = holders.get(declaration.claimed_by or -1)
            claimed = declaration.claimed_at
            waiting = declaration.status == "submitted"
            if waiting and member is not None and claimed is not None and claimed + hold > now:
                holder = self.view.say(
                    visit.locale,
                    t("web.queue.held_until",
                      holder=self.view.person(visit.locale, member.account, member),
                      until=local(claimed + hold)),
                )  # fmt: skip
            rows.append(
                {
                    "id": declaration.id,
                    "name": citizen.full_name,
                    "ward": self.app.wards.name_of(citizen.ward_code),
                    "submitted": local(declaration.submitted_at),
                    "age": age,
                    "round": declaration.review_round,
                    "holder": holder,
                    "status": self.view.say(visit.locale, QUEUE_STATES[declaration.status]),
                }
            )
        released = request.query.get("released", "")
        note = ""
        if released.isdigit() and any(r["id"] == int(released) and not r["holder"] for r in rows):
            note = self.view.say(visit.locale, t("web.queue.released", id=int(released)))
        approved, left = request.query.get("approved", ""), request.query.get("left", "")
        if approved.isdigit() and left.isdigit():  # after a batch approval
            note = self.view.say(
                visit.locale, t("web.bulk.done", approved=int(approved), left=int(left))
            )
        return self.view.render(
            visit.locale, "queue.html", visit=visit, rows=rows,
            wards=self.view.ward_choices(scope), ward=ward, age=min_days, page="queue",
            note=note, statuses=statuses, states=[
                (name, self.view.say(visit.locale, label)) for name, label in QUEUE_STATES.items()
            ],
        )  # fmt: skip

    async def _in_scope(
        self, uow: UnitOfWork, visit: Visit, declaration_id: int
    ) -> tuple[Declaration, Citizen] | None:
        """The declaration and its citizen when this visit may review it; None (answered with
        ``not_found``) alike for an unknown number and for another ward's declaration."""
        declaration = await uow.declarations.get(declaration_id)
        citizen = await uow.citizens.get(declaration.citizen_id) if declaration else None
        if (
            declaration is None
            or citizen is None
            or not allowed(visit.role, Action.REVIEW, citizen.ward_code)
        ):
            return None
        return declaration, citizen

    async def page(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        declaration_id = number(request)
        now = datetime.now(UTC)
        hold = self.app.services.review_hold
        async with self.app.store.transaction() as uow:
            found = await self._in_scope(uow, visit, declaration_id)
            if found is None:
                return self.view.not_found(visit.locale)
            declaration, citizen = found
            mine = False
            if declaration.status == "submitted":  # opening it takes the review, as in the chat
                mine = (await claim(uow, visit.role, declaration_id, now, hold)).mine
                declaration = await uow.declarations.get(declaration_id) or declaration
            answers = await uow.declarations.answers(declaration_id)
            files = await uow.declarations.evidence(declaration_id)
            events = await uow.declarations.events(declaration_id)
            confirmed = [
                self.view.say(
                    visit.locale,
                    t("org.verified.line", org=v.org_name, date=local(v.created_at)),
                )
                for v in await uow.orgs.verifications(declaration_id)
                if v.round == declaration.review_round
            ]
            members, own = await self.view.people(uow, citizen.id)
            holding = (
                await uow.staff.get(declaration.claimed_by) if declaration.claimed_by else None
            )
            can_undo = (
                declaration.status != "submitted"
                and await undoable(uow, declaration, visit.account, now) is None
            )
            # the queue's order (oldest submission first), for «previous» and «next»
            queue = [
                d.id for d, _ in await uow.declarations.pending(scope_of(visit.role, Action.QUEUE))
            ]
        before, after = _neighbours(queue, declaration_id)
        locale = visit.locale
        say = self.view.say
        criteria = self.app.services.criteria[declaration.criteria_set]
        by_indicator: dict[int, list[dict[str, Any]]] = {}
        for item in files:
            by_indicator.setdefault(item.indicator, []).append(
                {
                    "url": f"/console/file/{declaration_id}/{item.sha256}",
                    "image": item.mime_type.startswith("image/"),
                    "name": item.original_name
                    or say(locale, _FILE_KINDS.get(item.kind, _FILE_KINDS["document"])),
                }
            )
        evaluation = criteria.evaluate(verified_scores(answers))
        indicators = []
        for indicator in criteria.indicators:
            answer = answers.get(indicator.id)
            indicators.append(
                {
                    "id": indicator.id,
                    "text": indicator.short.get(locale) or indicator.short.get("vi", ""),
                    "score": answer.score if answer else None,
                    "verified": answer.verified_score if answer else None,
                    "reason": answer.adjust_reason if answer else None,
                    "note": answer.note if answer else None,
                    "files": by_indicator.get(indicator.id, []),
                    "max": indicator.max,
                }
            )
        # the approve action names the result the rule gives these (possibly adjusted) scores:
        # what `approve` in bot/domain/usecases/decisions.py will record
        result = say(locale, _PASS if evaluation.recognised else _FAIL)
        claim_words = ""
        if declaration.status == "submitted" and holding is not None and declaration.claimed_at:
            claim_words = say(
                locale,
                t("web.review.claim.mine") if mine else t("web.review.claim.other"),
                holder=self.view.person(locale, holding.account, holding),
                until=local(declaration.claimed_at + hold),
            )
        approve_label = say(
            locale, t("web.review.approve", result=result, total=evaluation.total,
                      max_total=criteria.max_total),
        )  # fmt: skip
        approve_warning = (
            ""
            if evaluation.recognised
            else say(
                locale,
                t("web.review.approve.warning",
                  rule=result_text(criteria, evaluation, final=True)),
            )
        )  # fmt: skip
        return self.view.render(
            locale, "review.html", visit=visit, page="queue",
            declaration=declaration, citizen=citizen,
            ward=self.app.wards.name_of(citizen.ward_code),
            phone=national_phone(citizen.phone),
            group=say(locale, f"group.{citizen.group}"),
            indicators=indicators, total=evaluation.total, max_total=criteria.max_total,
            recognised=evaluation.recognised, complete=evaluation.complete,
            mine=mine, claim=claim_words, can_undo=can_undo, before=before, after=after,
            confirmed=confirmed,
            approve_label=approve_label, approve_warning=approve_warning,
            done=self._done(request, locale, declaration, evaluation.total, criteria.max_total),
            status=say(locale, f"xlsx.status.{declaration.status}"),
            submitted=local(declaration.submitted_at),
            events=self.view.history(locale, events, members, own),
            undo_minutes=int(UNDO_WINDOW.total_seconds() // 60),
        )  # fmt: skip

    def _done(
        self, request: web.Request, locale: str, declaration: Declaration, total: int, best: int
    ) -> str:
        """After a decision, what the declaration now records, read from the store (not from
        the button pressed): «Đã ghi: Chưa đạt, 76/100 điểm…»."""
        done = request.query.get("done", "")
        status, decision = declaration.status, declaration.decision
        said: Text | None = None
        if done == "approve" and decision == "approved" and status in _DECIDED:
            result = self.view.say(locale, _PASS if status == "recognised" else _FAIL)
            said = t("web.review.done.approved", result=result, total=total, max_total=best)
        elif done == "reject" and decision == "rejected" and status == "not_recognised":
            said = t("web.review.done.rejected")
        elif done == "return" and status == "returned":
            marked = ", ".join(map(str, declaration.reopened))
            said = t("web.review.done.returned", indicators=marked)
        elif done == "undo" and status == "submitted":
            said = t("web.review.done.undone")
        return self.view.say(locale, said) if said is not None else ""

    async def release(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """«Trả lại hàng chờ»: the chat's *Later*: this account's own claim is cleared, nothing
        else changes, no staff record is created."""
        declaration_id = number(request)
        async with self.app.store.transaction() as uow:
            if await self._in_scope(uow, visit, declaration_id) is None:
                return self.view.not_found(visit.locale)
            channel, _, external_id = visit.account.partition(":")
            await release(uow, channel, external_id, declaration_id)
        raise web.HTTPSeeOther(f"/console/?released={declaration_id}")

    async def _held(
        self, uow: UnitOfWork, visit: Visit, declaration_id: int, now: datetime
    ) -> Declaration | web.Response:
        """The declaration when this visit may decide on it now (``held``: role, ward, status,
        claim); else the answer to give: ``not_found`` for a number out of the visit's wards."""
        if await self._in_scope(uow, visit, declaration_id) is None:
            return self.view.not_found(visit.locale)
        declaration, problem = await held(uow, visit.role, declaration_id, now)
        if declaration is None:
            words = _WEB_WORDS.get(problem.key, problem) if problem is not None else UNKNOWN
            return self.view.refusal(visit.locale, words)
        return declaration

    async def adjust(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        declaration_id = number(request)
        form = await request.post()
        now = datetime.now(UTC)
        raw_indicator, raw_score = str(form.get("indicator", "")), str(form.get("score", ""))
        reason = visible_text(str(form.get("reason") or ""))
        async with self.app.store.transaction() as uow:
            declaration = await self._held(uow, visit, declaration_id, now)
            if isinstance(declaration, web.Response):
                return declaration
            criteria = self.app.services.criteria[declaration.criteria_set]
            ids = {i.id: i for i in criteria.indicators}
            if not raw_indicator.isdigit() or int(raw_indicator) not in ids:
                return self.view.refusal(visit.locale, _BAD_INPUT, 400)
            indicator = ids[int(raw_indicator)]
            if not raw_score.isdigit() or not 0 <= int(raw_score) <= indicator.max:
                return self.view.refusal(visit.locale, t("web.review.bad_score"), 400)
            if not 3 <= len(reason) <= 500:
                return self.view.refusal(visit.locale, _BAD_REASON, 400)
            answers = await uow.declarations.answers(declaration_id)
            before = verified_scores(answers).get(indicator.id)
            decider = await decider_of(uow, visit.role, now, via="web")
            await adjust(
                uow, declaration, indicator.id, int(raw_score), reason, before, decider, now
            )
        raise web.HTTPSeeOther(f"/console/d/{declaration_id}#i{indicator.id}")

    async def decide(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        declaration_id = number(request)
        form = await request.post()
        action = str(form.get("action") or "")
        if form.get("confirm") != "yes":
            return self.view.refusal(visit.locale, t("web.review.unconfirmed"), 400)
        text = visible_text(str(form.get("text") or ""))
        now = datetime.now(UTC)
        async with self.app.store.transaction() as uow:
            declaration = await self._held(uow, visit, declaration_id, now)
            if isinstance(declaration, web.Response):
                return declaration
            criteria = self.app.services.criteria[declaration.criteria_set]
            decider = await decider_of(uow, visit.role, now, via="web")
            if action == "approve":
                answers = await uow.declarations.answers(declaration_id)
                await approve(uow, declaration, criteria, verified_scores(answers), decider, now)
            elif action == "reject":
                if not 3 <= len(text) <= 1000:
                    return self.view.refusal(visit.locale, _BAD_REASON, 400)
                await reject(uow, declaration, text, decider, now)
            elif action == "return":
                ids = {i.id for i in criteria.indicators}
                marked = [int(str(v)) for v in form.getall("indicator", []) if str(v).isdigit()]
                marked = [n for n in marked if n in ids]
                if not marked or not 3 <= len(text) <= 1000:
                    return self.view.refusal(visit.locale, t("web.review.bad_return"), 400)
                await return_for_more(
                    uow, declaration, marked, text, decider, now, criteria=criteria
                )  # the citizen hears the adjusted scores, as from the chat
            else:
                return self.view.refusal(visit.locale, _BAD_INPUT, 400)
        raise web.HTTPSeeOther(f"/console/d/{declaration_id}?done={action}")

    async def bulk(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """The batch approval's confirmation: the declarations of the account's wards that
        passed with nothing flagged and nobody else is reviewing, each listed, all ticked."""
        if not allowed(visit.role, Action.DECIDE):
            return self.view.refusal(visit.locale, t("rev.error.not_staff"))
        now = datetime.now(UTC)
        hold = self.app.services.review_hold
        criteria_sets = self.app.services.criteria
        async with self.app.store.transaction() as uow:
            me = await acting_staff_id(uow, visit.role, now)
            found = await uow.declarations.pending(scope_of(visit.role, Action.DECIDE))
            rows = []
            for declaration, citizen in found[: BULK_MOST * 5]:
                held_by_other = (
                    declaration.claimed_by not in (None, me)
                    and declaration.claimed_at is not None
                    and declaration.claimed_at + hold > now
                )
                criteria = criteria_sets.get(declaration.criteria_set)
                if held_by_other or criteria is None:
                    continue
                answers = await uow.declarations.answers(declaration.id)
                if not clean_pass(criteria, answers):
                    continue
                rows.append(
                    {
                        "id": declaration.id,
                        "name": citizen.full_name,
                        "ward": self.app.wards.name_of(citizen.ward_code),
                        "total": verified_total(answers),
                    }
                )
                if len(rows) >= BULK_MOST:
                    break
        return self.view.render(visit.locale, "bulk.html", visit=visit, page="queue", rows=rows)

    async def bulk_approve(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """Approve each ticked declaration in a transaction of its own, re-checked as a single
        approval is (``approve_clean``); one that changed meanwhile is left, and counted."""
        form = await request.post()
        if form.get("confirm") != "yes":
            return self.view.refusal(visit.locale, t("web.review.unconfirmed"), 400)
        ids = list(dict.fromkeys(int(str(v)) for v in form.getall("id", []) if str(v).isdigit()))
        if not ids or len(ids) > BULK_MOST:
            return self.view.refusal(visit.locale, _BAD_INPUT, 400)
        hold = self.app.services.review_hold
        approved = 0
        for declaration_id in ids:
            async with self.app.store.transaction() as uow:
                approved += await approve_clean(
                    uow, visit.role, declaration_id, self.app.services.criteria,
                    datetime.now(UTC), hold, via="web",
                )  # fmt: skip
        raise web.HTTPSeeOther(f"/console/?approved={approved}&left={len(ids) - approved}")

    async def undo(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        declaration_id = number(request)
        async with self.app.store.transaction() as uow:
            problem = await undo_decision(
                uow, visit.role, declaration_id, datetime.now(UTC), via="web"
            )
        if problem in _UNDO_PROBLEMS:
            return self.view.refusal(visit.locale, _UNDO_PROBLEMS[problem], 409)
        if problem is not None:  # "unknown": none such, or another ward's
            return self.view.not_found(visit.locale)
        raise web.HTTPSeeOther(f"/console/d/{declaration_id}?done=undo")

    async def file(self, request: web.Request, visit: Visit) -> web.StreamResponse:
        """An evidence file, to a staff member who may review its declaration."""
        declaration_id = number(request)
        sha256 = request.match_info["sha256"]
        async with self.app.store.transaction() as uow:
            if await self._in_scope(uow, visit, declaration_id) is None:
                return self.view.not_found(visit.locale)
            evidence = await uow.declarations.evidence(declaration_id)
        if not any(item.sha256 == sha256 for item in evidence):
            return self.view.not_found(visit.locale)
        try:
            data = self.app.evidence.path(sha256).read_bytes()
        except FileNotFoundError:
            return self.view.not_found(visit.locale)
        kind = sniff(data) or "application/octet-stream"
        response = web.Response(body=data, content_type=kind)
        response.headers["Cache-Control"] = "private, no-store"
        if kind == "application/pdf":  # opened in the browser, not downloaded
            response.headers["Content-Disposition"] = "inline"
        return response


BULK_MOST = 200  # declarations one batch approval decides at most
# the states the queue can show, named as the export names them
QUEUE_STATES: dict[str, Text] = {
    state: WORDS["status"][state]
    for state in ("submitted", "returned", "recognised", "not_recognised")
}


def _neighbours(queue: list[int], current: int) -> tuple[int | None, int | None]:
    """The declarations before and after ``current`` in the queue; for one no longer in it
    (decided just now), none before and the queue's first after, so that «next» goes on."""
    if current not in queue:
        return None, queue[0] if queue else None
    at = queue.index(current)
    return (queue[at - 1] if at > 0 else None), (queue[at + 1] if at + 1 < len(queue) else None)
