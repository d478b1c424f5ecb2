"""The channel-agnostic engine: message shapes, flow runner, choice matching, per-user order."""

from bot.engine.flow import (
    Abort,
    Accept,
    Answer,
    ChoiceSpec,
    Finish,
    Flow,
    FlowContext,
    Outcome,
    Prompt,
    Retry,
    Step,
)
from bot.engine.matching import fold, match_choice
from bot.engine.runner import GLOBAL_TOKEN, MAX_TEXT_LENGTH, Engine, FlowCommand, Translate
from bot.engine.serial import KeyedSerializer
from bot.engine.types import Choice, Expect, FileRef, Inbound, InboundKind, Reply, Result, Text, t

__all__ = [
    "GLOBAL_TOKEN",
    "MAX_TEXT_LENGTH",
    "Abort",
    "Accept",
    "Answer",
    "Choice",
    "ChoiceSpec",
    "Engine",
    "Expect",
    "FileRef",
    "Finish",
    "Flow",
    "FlowCommand",
    "FlowContext",
    "Inbound",
    "InboundKind",
    "KeyedSerializer",
    "Outcome",
    "Prompt",
    "Reply",
    "Result",
    "Retry",
    "Step",
    "Text",
    "Translate",
    "fold",
    "match_choice",
    "t",
]
