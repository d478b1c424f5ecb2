"""The receiving half every channel shares: the database unavailable while an update is being
handled, replies that fail half-way, a flooding account."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.engine import FloodGuard, Inbound, InboundKind, Reply, Result, Text, Verdict
from bot.engine.ports import InboxItem
from bot.handlers.receiving import Incoming, Receiver
from bot.services.outbox import Transient


@dataclass
class StubEngine:
    """The engine's and the mailbox's side of the contract: results scripted, calls recorded."""

    results: list[Result] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    delivered_ids: list[int] = field(default_factory=list)
    redelivered: list[tuple[list[int], float]] = field(default_factory=list)
    shared: bool = False  # one process (the several-process path: tests/test_cluster.py)

    async def accept(self, channel: str, items: Sequence[InboxItem]) -> list[str]:
        fresh = []
        for item in items:  # as the inbox's unique key does
            if item.update_id not in self.accepted:
                self.accepted.append(item.update_id)
                fresh.append(item.update_id)
        return fresh

    async def backlog(self, channel: str) -> list[InboxItem]:
        return []

    async def handle(self, inbound: Inbound) -> Result:
        return self.results.pop(0)

    async def delivered(self, ids: Sequence[int], after: Sequence[object] = ()) -> None:
        self.delivered_ids.extend(ids)

    async def flush(self) -> None:
        pass

    async def redeliver(self, ids: Sequence[int], delay: float) -> None:
        self.redelivered.append((list(ids), delay))

    async def locale_for(self, inbound: Inbound) -> str:
        return "vi"

    def notice(self, locale: str, text: Text) -> Reply:
        return Reply(f"[{text.key}]", locale)


def incoming(update_id: str, user: str = "u1") -> Incoming[None]:
    inbound = Inbound("test", user, InboundKind.TEXT, update_id=update_id, text="hi")
    return Incoming(None, inbound, {"id": update_id})


async def test_an_unavailable_database_is_waited_out_and_the_user_told_once() -> None:
    answer = Result((Reply("đây là câu trả lời", "vi"),), reply_ids=(7,))
    engine = StubEngine([Result(retry=True), Result(retry=True), Result(retry=True), answer])
    sent: list[str] = []

    async def send(chat: str, reply: Reply) -> None:
        sent.append(reply.text)

    receiver: Receiver[None] = Receiver("test", engine, send, mailbox=engine, max_backoff=0.01)  # type: ignore[arg-type]
    await receiver.take([incoming("1")])
    await receiver.drain()
    assert sent == ["[engine.busy]", "đây là câu trả lời"]
    assert engine.delivered_ids == [7]


async def test_a_reply_that_fails_hands_itself_and_the_rest_to_the_outbox() -> None:
    replies = tuple(Reply(text, "vi") for text in ("một", "hai", "ba"))
    engine = StubEngine([Result(replies, reply_ids=(1, 2, 3))])
    sent: list[str] = []

    async def send(chat: str, reply: Reply) -> None:
        if reply.text == "hai":
            raise Transient("ClientDecodeError")
        sent.append(reply.text)

    receiver: Receiver[None] = Receiver("test", engine, send, mailbox=engine)  # type: ignore[arg-type]
    await receiver.take([incoming("1")])
    await receiver.drain()
    assert sent == ["một"]  # "ba" is not sent before "hai"
    assert engine.delivered_ids == [1]
    assert engine.redelivered == [([2, 3], 1.0)]


async def test_a_second_delivery_of_an_update_is_not_queued_again() -> None:
    engine = StubEngine([Result(reply_ids=())])
    receiver: Receiver[None] = Receiver(
        "test",
        engine,  # type: ignore[arg-type]
        lambda c, r: asyncio.sleep(0),
        mailbox=engine,  # type: ignore[arg-type]
    )
    await receiver.take([incoming("1"), incoming("1")])
    await receiver.take([incoming("1")])
    await receiver.drain()
    assert engine.results == []  # handled exactly once
    assert engine.accepted == ["1"]


async def test_a_flooding_account_gets_one_notice_and_others_are_unaffected() -> None:
    now = [0.0]
    flood = FloodGuard(burst=5, rate=1.0, clock=lambda: now[0])
    engine = StubEngine([Result() for _ in range(100)])
    sent: list[tuple[str, str]] = []

    async def send(chat: str, reply: Reply) -> None:
        sent.append((chat, reply.text))

    receiver: Receiver[None] = Receiver("test", engine, send, mailbox=engine, flood=flood)  # type: ignore[arg-type]
    flooding = [incoming(f"f{n}", "flooder") for n in range(500)]
    calm = [incoming(f"c{n}", "calm") for n in range(3)]
    await receiver.take(flooding[:250] + calm + flooding[250:])
    now[0] = 3.0  # three seconds later: three more of the flooder's pass
    await receiver.take([incoming(f"g{n}", "flooder") for n in range(10)])
    await receiver.drain()
    handled = [u for u in engine.accepted if u.startswith(("f", "g"))]
    assert len(handled) == 5 + 3  # the burst, then the rate
    assert [u for u in engine.accepted if u.startswith("c")] == ["c0", "c1", "c2"]
    assert sent.count(("flooder", "[engine.slow_down]")) == 1
    assert receiver.dropped == 500 + 10 - 8


def test_the_flood_guard_forgets_a_flood_once_the_bucket_is_full_again() -> None:
    now = [0.0]
    flood = FloodGuard(burst=2, rate=1.0, clock=lambda: now[0])
    assert [flood.check("a") for _ in range(4)] == [
        Verdict.PASS, Verdict.PASS, Verdict.NOTICE, Verdict.DROP,
    ]  # fmt: skip
    now[0] = 1.0
    assert flood.check("a") is Verdict.PASS  # one token back, the flood goes on
    assert flood.check("a") is Verdict.DROP  # no second notice
    now[0] = 10.0
    assert [flood.check("a") for _ in range(3)] == [Verdict.PASS, Verdict.PASS, Verdict.NOTICE]


@dataclass
class GatedEngine(StubEngine):
    """Each update's handling waits for its gate (set at once unless the test holds it)."""

    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    handled: list[Inbound] = field(default_factory=list)
    taken_out: list[str] = field(default_factory=list)
    refuse_accepts: int = 0  # the next accepts fail as an unavailable database does

    async def handle(self, inbound: Inbound) -> Result:
        gate = self.gates.get(str(inbound.update_id))
        if gate is not None:
            await gate.wait()
        self.handled.append(inbound)
        return Result((Reply(f"re {inbound.update_id}", "vi"),), reply_ids=(0,))

    async def accept(self, channel: str, items: Sequence[InboxItem]) -> list[str]:
        if self.refuse_accepts:
            self.refuse_accepts -= 1
            raise OSError("disk full")
        return await super().accept(channel, items)

    async def take_out(self, channel: str, update_ids: Sequence[str]) -> None:
        self.taken_out.extend(update_ids)


def gated_receiver(engine: GatedEngine, sent: list[str]) -> Receiver[None]:
    async def send(chat: str, reply: Reply) -> None:
        sent.append(reply.text)

    return Receiver("test", engine, send, mailbox=engine)  # type: ignore[arg-type]


async def test_a_polled_batch_is_handled_before_it_is_acknowledged_with_no_inbox_row() -> None:
    engine = GatedEngine()
    sent: list[str] = []
    receiver = gated_receiver(engine, sent)
    await receiver.take_handled([incoming("1"), incoming("2", "u2"), incoming("3")])
    # returned, so the channel may confirm the batch: every update was handled by then
    assert sorted(str(i.update_id) for i in engine.handled) == ["1", "2", "3"]
    assert sent.count("re 1") == 1 and sent.index("re 1") < sent.index("re 3")  # u1's order
    assert engine.accepted == []  # nothing was written to the inbox
    assert {i.inboxed for i in engine.handled} == {False}  # the claims delete no inbox row
    await receiver.drain()


async def test_a_slow_update_is_stored_and_the_rest_acknowledged_without_waiting_for_it() -> None:
    engine = GatedEngine()
    engine.gates["2"] = asyncio.Event()  # a file being downloaded, a database away ...
    sent: list[str] = []
    receiver = gated_receiver(engine, sent)
    await receiver.take_handled([incoming("1"), incoming("2", "u2")], wait=0.05)
    assert [str(i.update_id) for i in engine.handled] == ["1"]
    assert engine.accepted == ["2"]  # durable before the batch is confirmed
    assert engine.taken_out == []
    engine.gates["2"].set()
    await receiver.drain()
    assert sent == ["re 1", "re 2"]
    assert engine.taken_out == ["2"]  # its inbox row goes once it is handled


async def test_a_batch_taken_again_after_a_failed_store_is_not_handled_twice() -> None:
    engine = GatedEngine(refuse_accepts=1)
    engine.gates["1"] = asyncio.Event()
    receiver = gated_receiver(engine, [])
    batch = [incoming("1"), incoming("2", "u2")]
    try:
        await receiver.take_handled(batch, wait=0.01)
    except OSError:
        pass
    else:
        raise AssertionError("the failed store must not let the batch be confirmed")
    await receiver.take_handled(batch, wait=0.01)  # the poll loop's retry, with the same batch
    assert engine.accepted == ["1"]
    engine.gates["1"].set()
    await receiver.drain()
    assert sorted(str(i.update_id) for i in engine.handled) == ["1", "2"]  # once each


async def test_a_batch_taken_again_is_not_counted_twice_by_the_flood_guard() -> None:
    """Counted twice, a retried batch would be dropped as a flood while its updates are still
    being handled, and confirmed without being committed or stored."""
    now = [0.0]
    engine = GatedEngine(refuse_accepts=1)
    engine.gates["1"] = asyncio.Event()
    sent: list[str] = []

    async def send(chat: str, reply: Reply) -> None:
        sent.append(reply.text)

    flood = FloodGuard(burst=2, rate=1.0, clock=lambda: now[0])
    receiver: Receiver[None] = Receiver("test", engine, send, mailbox=engine, flood=flood)  # type: ignore[arg-type]
    batch = [incoming("1"), incoming("3")]  # one user's two updates: the flood guard's burst
    with contextlib.suppress(OSError):
        await receiver.take_handled(batch, wait=0.01)
    await receiver.take_handled(batch, wait=0.01)
    assert engine.accepted == ["1", "3"]  # being handled, the second behind the first: stored
    assert receiver.dropped == 0
    engine.gates["1"].set()
    await receiver.drain()
    assert [str(i.update_id) for i in engine.handled] == ["1", "3"]
