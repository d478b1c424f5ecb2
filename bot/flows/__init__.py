"""Flow definitions only: what each step asks and how its answer is checked."""

from bot.flows.common import Services
from bot.flows.declaration import DECLARATION_FLOW, declaration_flow, status_text
from bot.flows.registration import (
    GROUP_LABELS,
    PROFILE_FLOW,
    REGISTRATION_FLOW,
    profile_flow,
    registration_flow,
)

__all__ = [
    "DECLARATION_FLOW",
    "GROUP_LABELS",
    "PROFILE_FLOW",
    "REGISTRATION_FLOW",
    "Services",
    "declaration_flow",
    "profile_flow",
    "registration_flow",
    "status_text",
]
