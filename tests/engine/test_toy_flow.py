"""The engine on its own: a toy flow (a café order) over an in-memory store (tests/engine/
memory.py), with a translator of a few lines. No citizen, no ward, no SQL: what the engine
promises (steps in order, choices by button, number or word, a refused answer asked again, a
stale button refused, /back and /cancel, one transaction per update, an update handled once)
holds for any flow.

```mermaid
flowchart LR
    drink -->|coffee| sugar --> name
    drink -->|tea| name
    name -->|digits: retry| name
    name --> confirm
    confirm -->|change| drink
    confirm -->|confirm| done((Finish))
```
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.engine import (
    Accept,
    Answer,
    ChoiceSpec,
    Engine,
    Expect,
    Finish,
    Flow,
    FlowCommand,
    FlowContext,
    Inbound,
    InboundKind,
    Prompt,
    Reply,
    Result,
    Retry,
    Step,
    Text,
    t,
)
from bot.engine.ports import StorageUnavailable
from tests.engine.memory import Member, MemoryStore, MemoryUnitOfWork

ROOT = Path(__file__).resolve().parents[2]

TEXTS = {
    "toy.drink": "What would you like?",
    "toy.tea": "Tea",
    "toy.coffee": "Coffee",
    "toy.sugar": "Sugar?",
    "toy.yes": "Yes",
    "toy.no": "No",
    "toy.name": "Your name, for the cup?",
    "toy.name.digits": "A name has no digits.",
    "toy.confirm": "{drink} for {name}, {sugar}. Right?",
    "toy.with_sugar": "with sugar",
    "toy.no_sugar": "no sugar",
    "toy.confirm.yes": "Order",
    "toy.confirm.change": "Change",
    "toy.done": "Ordered: {drink} for {name}.",
    "toy.welcome_back": "Welcome back! /order for another.",
    "toy.command.order": "Order a drink",
}


class ToyTranslate:
    """The engine's ``Translate``: the toy's texts in English; the engine's own keys are shown
    as the key itself (``engine.stale``), which is what the tests look for."""

    def __call__(self, locale: str, key: str, /, **params: object) -> str:
        return TEXTS[key].format(**params) if key in TEXTS else key

    def resolve(self, locale: str | None) -> str:
        return "en"

    def has(self, locale: str, key: str) -> bool:
        return key in TEXTS


Ctx = FlowContext[MemoryUnitOfWork, Member]


def _drink_prompt(_: Ctx) -> Prompt:
    tea, coffee = ChoiceSpec("tea", t("toy.tea")), ChoiceSpec("coffee", t("toy.coffee"))
    return Prompt(t("toy.drink"), (tea, coffee), Expect.CHOICE)


async def _drink(_: Ctx, answer: Answer) -> Accept | Retry:
    if answer.choice_id is None:
        return Retry(t("engine.choose_option"))
    return Accept({"drink": answer.choice_id})


def _sugar_prompt(_: Ctx) -> Prompt:
    yes = ChoiceSpec("yes", t("toy.yes"), means="yes")
    no = ChoiceSpec("no", t("toy.no"), means="no")
    return Prompt(t("toy.sugar"), (yes, no), Expect.CHOICE)


async def _sugar(_: Ctx, answer: Answer) -> Accept | Retry:
    if answer.choice_id is None:
        return Retry(t("engine.choose_option"))
    return Accept({"sugar": answer.choice_id == "yes"})


def _name_prompt(_: Ctx) -> Prompt:
    return Prompt(t("toy.name"))


async def _name(_: Ctx, answer: Answer) -> Accept | Retry:
    name = answer.text.strip()
    if name == "Crash":
        raise RuntimeError("the cup printer is on fire")
    if not name or any(ch.isdigit() for ch in name):
        return Retry(t("toy.name.digits"))
    return Accept({"name": name})


def _confirm_prompt(ctx: Ctx) -> Prompt:
    values = ctx.values
    text = t(
        "toy.confirm",
        drink=t(f"toy.{values['drink']}"),
        name=values["name"],
        sugar=t("toy.with_sugar" if values.get("sugar") else "toy.no_sugar"),
    )
    choices = (
        ChoiceSpec("confirm", t("toy.confirm.yes"), means="yes"),
        ChoiceSpec("change", t("toy.confirm.change")),
    )
    return Prompt(text, choices, Expect.CHOICE)


async def _confirm(ctx: Ctx, answer: Answer) -> Accept | Retry | Finish:
    if answer.choice_id == "change":
        return Accept({"sugar": False}, goto="drink")
    if answer.choice_id != "confirm":
        return Retry(t("engine.choose_option"))
    await ctx.uow.enroll(ctx.identity.id, ctx.locale)
    drink = t(f"toy.{ctx.values['drink']}")
    return Finish((t("toy.done", drink=drink, name=ctx.values["name"]),))


def _wants_coffee(ctx: Ctx) -> bool:
    return bool(ctx.values.get("drink") == "coffee")


ORDER = Flow(
    "order",
    (
        Step("drink", _drink_prompt, _drink),
        Step("sugar", _sugar_prompt, _sugar, applies=_wants_coffee),
        Step("name", _name_prompt, _name),
        Step("confirm", _confirm_prompt, _confirm),
    ),
)


async def _greet(_: Ctx) -> Text:
    return t("toy.welcome_back")


def toy_engine(store: MemoryStore) -> Engine:
    return Engine(
        store,
        ToyTranslate(),
        {ORDER.name: ORDER},
        services=None,
        entry_flow=ORDER.name,
        flow_commands={"order": FlowCommand("order", t("toy.command.order"), enrolled_only=True)},
        greet=_greet,
        clock=lambda: datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
    )


_update_ids = itertools.count(1)


class Customer:
    """Sends as one user and keeps the last question asked, as tests/chat.py does, without
    the channel's mailbox: the replies are acknowledged (deleted from the outbox) directly."""

    def __init__(self, engine: Engine, store: MemoryStore, user: str = "u1") -> None:
        self.engine, self.store, self.user = engine, store, user
        self.result = Result()
        self.prompt: Reply | None = None

    async def deliver(self, **fields: Any) -> Result:
        fields.setdefault("update_id", f"up-{next(_update_ids)}")
        self.result = await self.engine.handle(Inbound("toy", self.user, **fields))
        for reply in self.result.replies:
            if reply.token is not None:
                self.prompt = reply
        if self.result.reply_ids:
            async with self.store.transaction() as uow:
                await uow.outbox.delete(self.result.reply_ids)
        return self.result

    async def send(self, text: str, **fields: Any) -> Result:
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            return await self.deliver(kind=InboundKind.COMMAND, command=command, args=args)
        return await self.deliver(kind=InboundKind.TEXT, text=text, **fields)

    async def press(self, choice_id: str, token: str | None = None) -> Result:
        assert self.prompt is not None
        token = self.prompt.token if token is None else token
        return await self.deliver(kind=InboundKind.CHOICE, choice_id=choice_id, token=token)

    @property
    def text(self) -> str:
        return "\n---\n".join(reply.text for reply in self.result.replies)

    @property
    def choices(self) -> list[str]:
        return [choice.id for choice in self.prompt.choices] if self.prompt else []

    async def step(self) -> tuple[str | None, dict[str, Any]]:
        """Where the conversation stands in the store, and what it has collected."""
        async with self.store.transaction() as uow:
            _, _, conversation = await uow.identities.load("toy", self.user)
        if conversation is None:
            return None, {}
        return conversation.step, conversation.values


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def customer(store: MemoryStore) -> Customer:
    return Customer(toy_engine(store), store)


async def test_an_order_from_start_to_finish(customer: Customer, store: MemoryStore) -> None:
    await customer.send("hello")
    assert customer.text == "What would you like?"
    assert customer.choices == ["tea", "coffee"]
    await customer.press("coffee")
    assert customer.result.pressed_label == "Coffee"
    assert customer.text == "Sugar?"
    await customer.send("ok")  # a typed yes picks the choice that means yes
    assert customer.text == "Your name, for the cup?"
    await customer.send("Lan")
    assert customer.text == "Coffee for Lan, with sugar. Right?"
    await customer.press("confirm")
    assert customer.text == "Ordered: Coffee for Lan."
    assert await customer.step() == (None, {})
    # enrolled by the flow's own "domain" (the memory unit of work): greeted, not asked again
    await customer.send("hello again")
    assert customer.text == "Welcome back! /order for another."
    await customer.send("/order")
    assert customer.text == "What would you like?"
    # every reply was acknowledged: nothing is left for the outbox's sender
    assert store.tables.outbox == {}


async def test_a_step_that_does_not_apply_is_skipped_and_a_number_picks_a_choice(
    customer: Customer,
) -> None:
    await customer.send("/start")
    await customer.send("1")  # the first choice: tea, which takes no sugar
    assert customer.text == "Your name, for the cup?"
    assert await customer.step() == ("name", {"drink": "tea"})
    await customer.send("Minh")
    await customer.send("change")  # a label typed: back to the first question
    assert customer.text == "What would you like?"
    step, values = await customer.step()
    assert step == "drink" and values["name"] == "Minh"


async def test_a_refused_answer_is_asked_again_and_changes_nothing(customer: Customer) -> None:
    await customer.send("/start")
    await customer.press("tea")
    before = await customer.step()
    await customer.send("R2D2")
    assert customer.text == "A name has no digits.\n\nYour name, for the cup?"
    assert len(customer.result.replies) == 1  # the reason folded into the question
    assert await customer.step() == before
    await customer.send("An")
    assert customer.text == "Tea for An, no sugar. Right?"


async def test_a_stale_button_is_refused_politely(customer: Customer) -> None:
    await customer.send("/start")
    drink_token = customer.prompt.token if customer.prompt else None
    await customer.press("coffee")
    before = await customer.step()
    # the drink question's "Tea" pressed again, from the message above
    await customer.press("tea", token=drink_token)
    assert customer.result.stale
    assert customer.text == "engine.stale\n\nSugar?"
    assert await customer.step() == before
    # a made-up choice on the current prompt is refused the same way
    await customer.press("decaf")
    assert customer.result.stale
    assert await customer.step() == before


async def test_back_and_cancel(customer: Customer) -> None:
    await customer.send("/start")
    await customer.press("coffee")
    await customer.press("no")
    assert (await customer.step())[0] == "name"
    await customer.send("/back")
    assert customer.text == "Sugar?"
    await customer.send("/back")
    assert customer.text == "What would you like?"
    await customer.send("/back")
    assert customer.text == "engine.nothing_to_go_back\n\nWhat would you like?"
    await customer.send("/cancel")
    assert customer.text == "engine.cancelled"
    assert await customer.step() == (None, {})
    # the entry flow cancelled by an account enrolled as no one forgets the account
    async with customer.store.transaction() as uow:
        assert await uow.identities.get("toy", "u1") is None


async def test_a_new_engine_on_the_same_store_carries_on(
    customer: Customer, store: MemoryStore
) -> None:
    """Everything lives in the store: a restarted engine asks the question that was waiting."""
    await customer.send("/start")
    await customer.press("coffee")
    restarted = Customer(toy_engine(store), store)
    waiting = await restarted.engine.waiting("toy", "u1")
    assert waiting is not None
    assert waiting.text == "engine.resume\n\nSugar?"
    assert [choice.id for choice in waiting.choices] == ["yes", "no"]
    restarted.prompt = waiting
    await restarted.press("no")  # the button of the question asked before the restart
    assert restarted.text == "Your name, for the cup?"


async def test_an_update_is_handled_once(customer: Customer) -> None:
    await customer.send("/start")
    await customer.press("tea")
    first = await customer.send("Hoa", update_id="same")
    assert first.replies and not first.duplicate
    again = await customer.send("Hoa", update_id="same")
    assert again.duplicate and not again.replies
    assert (await customer.step())[0] == "confirm"


async def test_a_failing_step_rolls_its_update_back(
    customer: Customer, store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    await customer.send("/start")
    await customer.press("tea")
    before = await customer.step()
    await customer.send("Crash", update_id="boom")
    assert customer.text == "engine.error"
    assert await customer.step() == before  # nothing of the failed update stayed
    assert "RuntimeError" in caplog.text and "Crash" not in caplog.text
    # consumed with the apology, so that a redelivery does not fail again and again
    assert ("toy", "boom") in store.tables.handled
    assert (await customer.send("Crash", update_id="boom")).duplicate


async def test_an_unavailable_store_asks_the_channel_to_retry(
    customer: Customer, store: MemoryStore
) -> None:
    await customer.send("/start")
    store.fail_next = StorageUnavailable("gone")
    result = await customer.send("/cancel")
    assert result.retry and not result.replies
    assert (await customer.step())[0] == "drink"


def test_the_engine_and_the_toy_need_no_campaign() -> None:
    """Imported alone, this module (the engine, the memory store, the toy flow) loads nothing
    of the campaign's domain, its flows, channels, services or SQL."""
    code = (
        "import sys, tests.engine.test_toy_flow\n"
        "banned = ('bot.domain', 'bot.flows', 'bot.handlers', 'bot.services', 'bot.app',"
        " 'storage', 'sqlalchemy')\n"
        "print(sorted(m for m in sys.modules if m.startswith(banned)))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]", found.stdout
