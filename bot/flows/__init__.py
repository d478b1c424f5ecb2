"""Flow definitions only: what each step asks and how its answer is checked."""

from bot.flows.registration import (
    GROUP_LABELS,
    PROFILE_FLOW,
    REGISTRATION_FLOW,
    RegistrationServices,
    profile_flow,
    registration_flow,
)

__all__ = [
    "GROUP_LABELS",
    "PROFILE_FLOW",
    "REGISTRATION_FLOW",
    "RegistrationServices",
    "profile_flow",
    "registration_flow",
]
