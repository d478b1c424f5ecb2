"""One-time sign-in links to the staff's web console, sent in the chat by ``/web``."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from bot.domain.ports import UnitOfWork

__all__ = ["SIGN_IN_VALID", "issue_sign_in", "secret_hash"]

SIGN_IN_VALID = timedelta(minutes=10)


def secret_hash(secret: str) -> str:
    """What is stored of a sign-in token or a session's cookie: never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_sign_in(uow: UnitOfWork, account: str, now: datetime) -> str:
    """A one-time sign-in token for ``account``, valid ``SIGN_IN_VALID``."""
    token = secrets.token_urlsafe(32)
    await uow.web.add_sign_in(secret_hash(token), account, now, now + SIGN_IN_VALID)
    return token
