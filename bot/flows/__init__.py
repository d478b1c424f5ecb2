"""Flow definitions only: what each step asks and how its answer is checked."""

from bot.engine import Text, t
from bot.flows.broadcast import BROADCAST_FLOW, broadcast_flow
from bot.flows.common import Services
from bot.flows.declaration import DECLARATION_FLOW, declaration_flow, status_text
from bot.flows.letter import letter_command
from bot.flows.registration import (
    PROFILE_FLOW,
    REGISTRATION_FLOW,
    forget_citizen,
    greet_citizen,
    profile_flow,
    registration_flow,
)
from bot.flows.reports import (
    export_command,
    not_started_command,
    proposed_command,
    report_command,
    waiting_command,
)
from bot.flows.review import (
    DECISION_COMMANDS,
    QUICK_VALUES,
    REVIEW_FLOW,
    review_flow,
    undo_command,
)
from bot.flows.rights import link_command, mydata_command
from bot.flows.staff import (
    STAFF_FLOW,
    away_command,
    invite_command,
    queue_command,
    revoke_command,
    staff_command,
    staff_flow,
    staff_home,
    stop_command,
    subscribe_command,
    verify_command,
    web_command,
)

# Buttons that messages sent outside any step carry (a return, a reminder, an approval, the
# coordinators' digest): on a channel without buttons their label typed is the command.
BUTTON_COMMANDS: tuple[tuple[str, Text], ...] = (
    ("/declare", t("note.returned.button")),
    ("/declare", t("note.reminder.button")),
    ("/giayxacnhan", t("letter.button")),
    ("/queue", t("note.digest.button")),
    ("/queue", t("note.review.button")),  # «Xem xét» typed without its number: the queue
)

__all__ = [
    "BROADCAST_FLOW",
    "BUTTON_COMMANDS",
    "DECISION_COMMANDS",
    "DECLARATION_FLOW",
    "PROFILE_FLOW",
    "QUICK_VALUES",
    "REGISTRATION_FLOW",
    "REVIEW_FLOW",
    "STAFF_FLOW",
    "Services",
    "away_command",
    "broadcast_flow",
    "declaration_flow",
    "export_command",
    "forget_citizen",
    "greet_citizen",
    "invite_command",
    "letter_command",
    "link_command",
    "mydata_command",
    "not_started_command",
    "profile_flow",
    "proposed_command",
    "queue_command",
    "registration_flow",
    "report_command",
    "review_flow",
    "revoke_command",
    "staff_command",
    "staff_flow",
    "staff_home",
    "status_text",
    "stop_command",
    "subscribe_command",
    "undo_command",
    "verify_command",
    "waiting_command",
    "web_command",
]
