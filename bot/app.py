"""Composition root: the one place that builds and wires the concrete parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.config import ConfigError, Settings
from bot.domain.criteria import DEFAULT_SET, CriteriaSet, load_criteria
from bot.domain.wards import WardDirectory
from bot.engine import Engine, FloodGuard, FlowCommand, ReplyCommand, Text, t
from bot.flows import (
    BROADCAST_FLOW,
    BUTTON_COMMANDS,
    DECISION_COMMANDS,
    DECLARATION_FLOW,
    PROFILE_FLOW,
    QUICK_VALUES,
    REGISTRATION_FLOW,
    REVIEW_FLOW,
    STAFF_FLOW,
    Services,
    away_command,
    broadcast_flow,
    declaration_flow,
    export_command,
    forget_citizen,
    greet_citizen,
    invite_command,
    letter_command,
    link_command,
    mydata_command,
    not_started_command,
    profile_flow,
    proposed_command,
    queue_command,
    registration_flow,
    report_command,
    review_flow,
    revoke_command,
    staff_command,
    staff_flow,
    staff_home,
    status_text,
    stop_command,
    subscribe_command,
    undo_command,
    verify_command,
    waiting_command,
    web_command,
)
from bot.handlers.registry import CHANNELS, describe
from bot.i18n import Translator
from bot.services.evidence import EvidenceLimits, EvidenceStore
from bot.services.letters import LetterSigner
from bot.services.links import load_or_create_secret
from bot.services.outbox import Deliverer, OutboxSender, Pace
from bot.services.report import Population, Targets
from bot.services.schedule import Reminders, Scheduler
from storage import SqlStore, create_engine, upgrade

if TYPE_CHECKING:
    from bot.handlers.web import WebServer

__all__ = [
    "App",
    "RedactingFilter",
    "build_app",
    "configure_logging",
    "load_population",
    "load_wards",
    "reminder_rules",
    "serve_web_console",
]

# Loggers of this project: their INFO lines are the bot's own news (``cdht run``); a library's
# INFO (fontTools subsetting a letter's font, Alembic naming its dialect) is not.
OWN_LOGGERS = ("bot", "cdht", "storage")


class RedactingFilter(logging.Filter):
    """Replaces secrets (bot tokens) in every log record before it is written."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            if any(secret in message for secret in self._secrets):
                for secret in self._secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, None
        return True


class OwnNewsOnly(logging.Filter):
    """Below WARNING, only this project's records pass: whatever a library logs at INFO or
    DEBUG (even one that set its own logger's level) never reaches the output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.partition(".")[0] in OWN_LOGGERS


class OneLineFormatter(logging.Formatter):
    """One line per record, for a terminal shared with a chat: the message with its line
    breaks folded, and an exception as its type and first line, not a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        message = " ".join(record.getMessage().split())
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            message += f" ({type(exc).__name__}{': ' + first if first else ''})"
        return f"{record.levelname.lower()}: {message}"


def configure_logging(settings: Settings, level: int = logging.INFO, chat: bool = False) -> None:
    """Log lines on stderr: this project's from ``level``, a library's from WARNING (unless
    its logger's level was set otherwise). ``chat``: the terminal also shows a chat (``cdht
    console``), so only warnings and errors are written, each on one line, between the
    chat's lines."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter(settings.secrets()))
    if chat:
        handler.setFormatter(OneLineFormatter())
        handler.addFilter(OwnNewsOnly())  # not even a library whose level was set to INFO
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # a library's INFO records are not even made
    for own in OWN_LOGGERS:
        logging.getLogger(own).setLevel(max(level, logging.WARNING) if chat else level)


T = TypeVar("T")


def _from_file(variable: str, path: Path, load: Callable[[Path], T]) -> T:
    """An operator's file, loaded; one that cannot be used is a ``ConfigError`` naming the
    variable, the file and the problem in words."""
    try:
        return load(path)
    except FileNotFoundError:
        raise ConfigError(f"{variable}: {path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{variable}: {path}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise ConfigError(f"{variable}: {path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(
            f'{variable}: {path}: not UTF-8 text (save it from the spreadsheet as "CSV UTF-8")'
        ) from None
    except ValueError as exc:  # the loaders' own errors name the file and the problem
        raise ConfigError(f"{variable}: {' '.join(str(exc).split())}") from None


def load_wards(settings: Settings) -> WardDirectory:
    """The province's units: the shipped list, or the operator's (``CDHT_WARDS_CSV``), with
    the operator's former names added; a file that cannot be used is a ``ConfigError``."""
    wards = WardDirectory.from_package(settings.province_code)
    if settings.wards_csv is not None:
        name = wards.province_name
        wards = _from_file(
            "CDHT_WARDS_CSV", settings.wards_csv, lambda path: WardDirectory.from_csv(path, name)
        )
    if settings.ward_aliases_csv is not None:
        wards = _from_file("CDHT_WARD_ALIASES_CSV", settings.ward_aliases_csv, wards.with_aliases)
    return wards


def load_population(settings: Settings, wards: WardDirectory | None = None) -> Population | None:
    """The operator's population per unit (``CDHT_POPULATION_CSV``), if configured; a file
    that cannot be used, or that names a unit the list does not have, is a ``ConfigError``."""
    if settings.population_csv is None:
        return None
    path = settings.population_csv
    population = _from_file("CDHT_POPULATION_CSV", path, Population.from_csv)
    if wards is not None:
        unknown = sorted(c for c in population.by_unit if wards.get(wards.current_code(c)) is None)
        if unknown:
            raise ConfigError(
                f"CDHT_POPULATION_CSV: {path}: unknown unit code {', '.join(unknown[:5])} "
                "(see: cdht wards NAME)"
            )
    return population


def load_criteria_sets(settings: Settings) -> dict[str, CriteriaSet]:
    """The set new declarations use, and the default one older declarations may keep."""
    return {name: load_criteria(name) for name in {settings.criteria_set, DEFAULT_SET}}


@dataclass
class App:
    settings: Settings
    translator: Translator
    store: SqlStore
    wards: WardDirectory
    engine: Engine
    evidence: EvidenceStore
    services: Services

    async def migrate(self) -> None:
        await upgrade(self.store.engine)

    async def release_replies(self) -> int:
        """At start: replies a stopped process stored but never confirmed are due now (rather
        than when their lease ends). Not with several processes on PostgreSQL: the replies
        stored are then mostly those other live processes are sending at this moment; a dead
        process's become due when their lease ends, and the leader's sender sends them."""
        if self.store.shared:
            return 0
        async with self.store.transaction() as uow:
            return await uow.outbox.release("reply", datetime.now(UTC))

    async def housekeeping(self) -> None:
        """At start and every hour: forget handled update ids after a week and failed replies
        after a day; remove files no record uses once their links have expired."""
        now = datetime.now(UTC)
        async with self.store.transaction() as uow:
            await uow.updates.prune(now - timedelta(days=7))
            await uow.outbox.prune("reply", now - timedelta(days=1))
            # wrong-code counters (pseudonymous, kept through an erasure): 30 days at most
            await uow.staff.forget_attempts(now - timedelta(days=30))
            # the retention rule: evidence goes N days after the final decision (the files
            # themselves once no record uses them, just below); scores and decisions stay
            retention = timedelta(days=self.settings.evidence_retention_days)
            await uow.declarations.purge_evidence(now - retention, now)
        await self.store.compact()
        await self.evidence.collect_garbage(
            self.store, min_age_seconds=max(3600, self.settings.link_valid_hours * 3600)
        )

    async def run_housekeeping(self, stop: asyncio.Event, every: float = 3600.0) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            try:
                await self.housekeeping()
            except Exception as exc:
                logging.getLogger(__name__).warning("housekeeping: %s", type(exc).__name__)

    def flood_guard(self) -> FloodGuard:
        """Each channel's own per-account inbound limit."""
        return FloodGuard(self.settings.flood_burst, self.settings.flood_rate)

    def pace(self, channel: str) -> Pace:
        """The sender's pace on a channel, from the settings its description names; a channel
        without (the console, a test's) as fast as it goes."""
        described = describe(channel)
        pacing = described.pace if described is not None else None
        rate = getattr(self.settings, pacing.rate) if pacing and pacing.rate else 1000
        interval = (
            getattr(self.settings, pacing.chat_interval) if pacing and pacing.chat_interval else 0
        )
        return Pace(float(rate), float(interval), self.settings.sender_concurrency)

    def outbox_sender(self, deliverer: Deliverer) -> OutboxSender:
        """A sender for one channel at its pace, woken by the store whenever a commit wrote
        something it may send now."""
        sender = OutboxSender(
            self.store,
            deliverer,
            self.engine.text,
            self.settings.default_locale,
            self.evidence.path,
            pace=self.pace(deliverer.name),
            quiet_hours=self.settings.quiet_hours,
        )
        self.store.add_commit_listener(sender.wake)
        return sender

    def scheduler(self) -> Scheduler:
        return Scheduler(
            self.store,
            self.services.admins,
            digest_hour=self.settings.digest_hour,
            escalate_after=timedelta(days=self.settings.escalate_after_days),
            hold=timedelta(hours=self.settings.review_hold_hours),
            capacity=self.settings.review_capacity,
            reminders=reminder_rules(self.settings),
        )

    async def close(self) -> None:
        await self.store.close()


async def _preview_notes(
    settings: Settings, uow: Any, audience: dict[str, Any], now: datetime
) -> list[Text]:
    """What each channel adds to a broadcast's preview about its part of the audience (its
    description's ``preview``): a Zalo OA, how many only its paid template reaches."""
    notes = []
    for channel in CHANNELS:
        if channel.preview is None:
            continue
        accounts = await uow.broadcasts.audience_accounts(audience, channel.name)
        if accounts:
            note = await import_module(channel.preview).preview(settings, uow, accounts, now)
            if note is not None:
                notes.append(note)
    return notes


def _link_secret(settings: Settings) -> bytes:
    """The key that signs links and letters, kept in the data folder (made on first use)."""
    path = settings.data_dir / "link-secret"
    try:
        return load_or_create_secret(path)
    except OSError as exc:
        raise ConfigError(
            f"CDHT_DATA_DIR: cannot keep the key {path} ({exc.strerror or exc})"
        ) from None
    except ValueError:
        raise ConfigError(f"CDHT_DATA_DIR: {path} is not a key this bot made") from None


def serve_web_console(app: App, web_server: WebServer) -> None:
    """The staff's web console on ``web_server`` (``cdht console`` serves it on this machine;
    ``cdht run`` does through ``configured_channels`` when a public address is set)."""
    from bot.handlers.web_console import WebConsole  # templates and QR codes: loaded when used

    WebConsole(app, web_server)


def build_app(settings: Settings, web_base_url: str | None = None) -> App:
    """Everything wired. ``web_base_url``: where this process serves the web console when no
    public address (``CDHT_PUBLIC_BASE_URL``) is configured, e.g. the console's
    ``http://127.0.0.1:8080``: ``/web`` links there. Letters never print it: a local address
    means nothing on paper."""
    translator = Translator(settings.default_locale)
    store = SqlStore(create_engine(settings.effective_database_url))
    wards = load_wards(settings)
    criteria = load_criteria_sets(settings)
    limits = EvidenceLimits(
        max_bytes=int(settings.evidence_max_mb * 1024 * 1024),
        max_files=settings.evidence_max_files,
    )
    evidence = EvidenceStore(settings.evidence_dir or settings.data_dir / "evidence", limits)

    async def erased(blobs: Sequence[str]) -> None:
        await evidence.remove_unused(blobs, store)

    services = Services(
        wards=wards,
        data_controller=settings.data_controller,
        data_controller_contact=settings.data_controller_contact,
        notice_version=settings.consent_notice_version,
        retention_until=settings.retention_until,
        evidence_retention_days=settings.evidence_retention_days,
        criteria=criteria,
        criteria_set=settings.criteria_set,
        campaign_year=settings.campaign_year,
        evidence=limits,
        admins=tuple(str(admin) for admin in settings.admins),
        invite_valid=timedelta(days=settings.invite_valid_days),
        review_hold=timedelta(hours=settings.review_hold_hours),
        review_capacity=settings.review_capacity,
        # where users can send photos, not documents
        photo_only_channels=frozenset(c.name for c in CHANNELS if "document" not in c.receives),
        quiet_hours=settings.quiet_hours,
        files=evidence,
        erased=erased,
        compact=store.compact,  # no erased row left in SQLite's file or write-ahead log
        translate=translator,
        public_base_url=settings.public_base_url or web_base_url,
        preview_notes=partial(_preview_notes, settings),
        letters=LetterSigner(
            _link_secret(settings),
            settings.public_base_url,
            issuer=settings.letter_issuer,
            header=settings.letter_header,
        ),
        targets=Targets.load(),
        population=load_population(settings, wards),
    )
    flows = {
        flow.name: flow
        for flow in (
            registration_flow(),
            profile_flow(),
            declaration_flow(criteria[settings.criteria_set]),
            review_flow(criteria[settings.criteria_set]),
            broadcast_flow(),
            staff_flow(),
        )
    }
    engine = Engine(
        store,
        translator,
        flows,
        services=services,
        entry_flow=REGISTRATION_FLOW,
        flow_commands={
            "declare": FlowCommand(DECLARATION_FLOW, t("command.declare")),
            "profile": FlowCommand(PROFILE_FLOW, t("command.profile")),
            "broadcast": FlowCommand(
                BROADCAST_FLOW, t("command.broadcast"), enrolled_only=False, listed=False
            ),
            "review": FlowCommand(
                REVIEW_FLOW, t("command.review"), enrolled_only=False, listed=False
            ),
            "coordinator": FlowCommand(
                STAFF_FLOW, t("command.coordinator"), enrolled_only=False, listed=False
            ),
            # typed decisions open the review at its confirmation
            **{
                name: FlowCommand(REVIEW_FLOW, description, False, False, QUICK_VALUES[name])
                for name, description in (
                    ("duyet", t("command.duyet")),
                    ("tra", t("command.tra")),
                    ("tuchoi", t("command.tuchoi")),
                )
            },
        },
        reply_commands={
            "status": ReplyCommand(status_text, t("command.status")),
            "stop": ReplyCommand(stop_command, t("command.stop")),
            "subscribe": ReplyCommand(subscribe_command, t("command.subscribe")),
            "queue": ReplyCommand(queue_command, t("command.queue"), listed=False),
            "invite": ReplyCommand(invite_command, t("command.invite"), listed=False),
            "staff": ReplyCommand(staff_command, t("command.staff"), listed=False),
            "away": ReplyCommand(away_command, t("command.away"), listed=False),
            "verify": ReplyCommand(verify_command, t("command.verify"), listed=False),
            "revoke": ReplyCommand(revoke_command, t("command.revoke"), listed=False),
            "report": ReplyCommand(report_command, t("command.report"), listed=False),
            "export": ReplyCommand(export_command, t("command.export"), listed=False),
            "proposed": ReplyCommand(proposed_command, t("command.proposed"), listed=False),
            "notstarted": ReplyCommand(not_started_command, t("command.notstarted"), False),
            "waiting": ReplyCommand(waiting_command, t("command.waiting"), listed=False),
            "undo": ReplyCommand(undo_command, t("command.undo"), listed=False),
            "mydata": ReplyCommand(mydata_command, t("command.mydata")),
            "link": ReplyCommand(link_command, t("command.link")),
            "giayxacnhan": ReplyCommand(letter_command, t("command.giayxacnhan")),
            "web": ReplyCommand(web_command, t("command.web"), listed=False),
        },
        text_commands=DECISION_COMMANDS,
        button_commands=BUTTON_COMMANDS,
        greet=greet_citizen,
        forget=forget_citizen,
        home=staff_home,
        files=evidence,
    )
    return App(settings, translator, store, wards, engine, evidence, services)


def reminder_rules(settings: Settings) -> Reminders:
    """The reminder steps a first run writes (CDHT_REMINDER_*); the admins edit them after."""
    return Reminders(
        timedelta(days=settings.reminder_idle_days),
        settings.reminder_max,
        timedelta(days=settings.reminder_start_days),
        timedelta(days=settings.reminder_returned_days),
    )
