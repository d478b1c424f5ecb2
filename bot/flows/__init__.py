"""Flow definitions only: what each step asks and how its answer is checked."""

from bot.flows.broadcast import BROADCAST_FLOW, broadcast_flow
from bot.flows.common import Services
from bot.flows.declaration import DECLARATION_FLOW, declaration_flow, status_text
from bot.flows.registration import (
    GROUP_LABELS,
    PROFILE_FLOW,
    REGISTRATION_FLOW,
    profile_flow,
    registration_flow,
)
from bot.flows.review import (
    REVIEW_FLOW,
    approve_command,
    reject_command,
    return_command,
    review_flow,
)
from bot.flows.staff import (
    coordinator_command,
    export_command,
    invite_command,
    queue_command,
    report_command,
    revoke_command,
    staff_command,
    stop_command,
    subscribe_command,
)

__all__ = [
    "BROADCAST_FLOW",
    "DECLARATION_FLOW",
    "GROUP_LABELS",
    "PROFILE_FLOW",
    "REGISTRATION_FLOW",
    "REVIEW_FLOW",
    "Services",
    "approve_command",
    "broadcast_flow",
    "coordinator_command",
    "declaration_flow",
    "export_command",
    "invite_command",
    "profile_flow",
    "queue_command",
    "registration_flow",
    "reject_command",
    "report_command",
    "return_command",
    "review_flow",
    "revoke_command",
    "staff_command",
    "status_text",
    "stop_command",
    "subscribe_command",
]
