"""Declarative flows: named steps, each with its prompt and its validator beside it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from bot.engine.ports import Identity, Subject, UnitOfWork
from bot.engine.types import Expect, FileRef, Joined, Text

__all__ = [
    "Abort",
    "Accept",
    "Answer",
    "ChoiceSpec",
    "Finish",
    "Flow",
    "FlowContext",
    "Outcome",
    "Prompt",
    "Retry",
    "Step",
]


@dataclass(frozen=True, slots=True)
class ChoiceSpec:
    id: str
    label: Text | str  # a plain str is shown as is (a ward's official name)
    # "yes", "no", "done" or "approve": typed "có", "đồng ý ạ", "ok", "không", "xong rồi",
    # "duyệt" choose it (a "done" choice also takes a yes: "rồi", "ok"; a yes takes "duyệt")
    means: str | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    text: Text | Joined
    choices: tuple[ChoiceSpec, ...] = ()
    expect: Expect = Expect.TEXT
    phone_button: Text | None = None
    numeric: bool = False  # choices labelled "0".."10" are answered by typing the number
    # asked instead of ``text`` after an answer that did not fit (a long notice is not repeated)
    short: Text | Joined | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The user's answer to the current step, already matched against its choices."""

    choice_id: str | None = None
    text: str = ""
    phone: str | None = None
    phone_is_own: bool = True
    file: FileRef | None = None


@dataclass(frozen=True, slots=True)
class Accept:
    """Store ``values`` and move on: to ``goto`` if given, else to the next step that applies."""

    values: Mapping[str, Any] = field(default_factory=dict)
    goto: str | None = None
    notice: Text | Joined | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """Refuse the answer with a reason; the step is asked again and nothing changes."""

    reason: Text


@dataclass(frozen=True, slots=True)
class Finish:
    """The flow is complete. ``choices`` become buttons under its last message, commands that
    work in any state ("/undo 12")."""

    messages: tuple[Text, ...] = ()
    choices: tuple[ChoiceSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Abort:
    """Leave the flow; ``forget`` also drops an account that is enrolled as no one."""

    messages: tuple[Text, ...] = ()
    forget: bool = False


Outcome = Accept | Retry | Finish | Abort


U = TypeVar("U", bound=UnitOfWork)  # the domain's unit of work (it extends the engine's)
S = TypeVar("S", bound=Subject)  # who an account is enrolled as (the domain's: a citizen)


@dataclass(slots=True)
class FlowContext(Generic[U, S]):
    """What a step sees: the transaction, the account, who it is enrolled as (None: no one),
    the conversation's values. Flows name the domain's types: ``FlowContext[UnitOfWork,
    Citizen]``; the engine knows only its own narrow ones."""

    uow: U
    identity: Identity
    subject: S | None
    values: dict[str, Any]
    locale: str
    now: datetime
    services: Any  # the flow's own service bundle, built in bot/app.py
    # Run once the update's transaction has committed (e.g. removing erased files from disk);
    # never when it rolls back.
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Run once the channel has delivered this update's replies (they are stored until then).
    after_delivery: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    origin: str | None = None  # the update's ``Inbound.origin`` (where it was addressed)


def _always(_: FlowContext[Any, Any]) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    prompt: Callable[[FlowContext[Any, Any]], Prompt]
    handle: Callable[[FlowContext[Any, Any], Answer], Awaitable[Outcome]]
    applies: Callable[[FlowContext[Any, Any]], bool] = _always
    # A follow-up of another step's question (the list of matching wards after the typed
    # name): one /back from it returns to the question before that one.
    part_of: str | None = None

    @property
    def question(self) -> str:
        return self.part_of or self.name


@dataclass(frozen=True, slots=True)
class Flow:
    """Steps in order. ``hub`` is the step an edit returns to (a summary), if any."""

    name: str
    steps: Sequence[Step]
    init: Callable[[FlowContext[Any, Any]], Awaitable[dict[str, Any]]] | None = None
    hub: str | None = None
    on_hub_return: Callable[[FlowContext[Any, Any]], Awaitable[None]] | None = None
    cancel_text: Text | None = None
    # Said instead of starting the flow when it returns a text (e.g. "already submitted").
    guard: Callable[[FlowContext[Any, Any]], Awaitable[Text | None]] | None = None
    # The step to start at, after ``init`` (e.g. the first indicator not yet answered).
    entry: Callable[[FlowContext[Any, Any]], str] | None = None
    # Run when the user cancels the flow (e.g. to release a review claim).
    on_leave: Callable[[FlowContext[Any, Any]], Awaitable[None]] | None = None

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"flow {self.name!r} has no step {name!r}")

    def next_step(self, after: str, ctx: FlowContext[Any, Any]) -> Step | None:
        names = [step.name for step in self.steps]
        for step in self.steps[names.index(after) + 1 :]:
            if step.applies(ctx):
                return step
        return None

    def first_step(self, ctx: FlowContext[Any, Any]) -> Step:
        if self.entry is not None:
            return self.step(self.entry(ctx))
        for step in self.steps:
            if step.applies(ctx):
                return step
        raise LookupError(f"flow {self.name!r} has no applicable step")
