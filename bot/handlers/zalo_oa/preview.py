"""What a broadcast's preview says of its audience on the wards' Official Accounts: how many
have not written to their OA in 7 days, whom only the approved template reaches (paid per
message), or no one when no template is configured."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.engine.types import Text, t
from bot.handlers.zalo_oa.channel import in_window, seen_key
from bot.handlers.zalo_oa.parse import CHANNEL, split_account

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.handlers.zalo_oa.tokens import StateUnitOfWork

__all__ = ["preview"]


async def preview(
    settings: Settings, uow: StateUnitOfWork, external_ids: Sequence[str], now: datetime
) -> Text | None:
    seen = await uow.channel_state.all(CHANNEL, "account:")
    away = 0
    for external_id in external_ids:
        found = seen.get(seen_key(*split_account(external_id)))
        if not in_window(found[0] if found is not None else None, now):
            away += 1
    if not away:
        return None
    if settings.zalo_oa_template_id:
        return t("zalo_oa.preview.template", count=away)
    return t("zalo_oa.preview.no_template", count=away)
