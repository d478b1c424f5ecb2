"""Erasure of a citizen who withdraws consent (Law 91/2025: the right to delete one's data).

Everything goes in the one transaction of the request: the citizen, their consents and
accounts, their declarations with answers, evidence records and audit trail, the messages about
them waiting or kept in the outbox (a broadcast's settled rows stay for its report, without
the account), and a coordinator's open review of their declaration, whom the bot tells that it
was withdrawn. The files go right after the commit (``after_commit``, through
``EvidenceStore.remove_unused``): the evidence files, unless another record uses the same file,
and every file the bot made that may hold the citizen and is still kept (their ``/mydata``, their
letter, any export or list), delivered or not.

The account's count of wrong codes stays: it is kept under a keyed hash of the account, not its
id (storage/repositories/staff.py), and deleting one's data and registering again must not
reset the lock-out of ``/link``.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.ports import UnitOfWork
from bot.domain.records import Citizen
from bot.domain.usecases.notices import text_message
from bot.engine.types import t

__all__ = ["erase_citizen"]


async def erase_citizen(uow: UnitOfWork, citizen: Citizen, now: datetime) -> list[str]:
    """Erase a citizen; the hashes of the evidence files their records used (for
    ``remove_unused``, once committed)."""
    declarations = {d.id: d for d in await uow.declarations.of_citizen(citizen.id)}
    blobs = sorted(
        {item.sha256 for number in declarations for item in await uow.declarations.evidence(number)}
    )
    accounts = [(i.channel, i.external_id) for i in await uow.identities.for_citizen(citizen.id)]
    withdrawn: dict[tuple[str, str], int] = {}
    for identity, conversation in await uow.conversations.in_flow("review"):
        number = conversation.values.get("declaration_id")
        if isinstance(number, int) and number in declarations:
            await uow.conversations.delete(identity.id)  # it holds the name, notes and files
            withdrawn[(identity.channel, identity.external_id)] = number
    for number, declaration in declarations.items():
        holder = await uow.staff.get(declaration.claimed_by) if declaration.claimed_by else None
        if holder is not None:
            withdrawn.setdefault((holder.channel, holder.external_id), number)
    await uow.outbox.erase(citizen.id, accounts)
    for (channel, external_id), number in withdrawn.items():
        # after the erasure of the outbox, so that this notice (naming no one) stays
        notice = t("rev.withdrawn", id=number)
        await uow.outbox.enqueue(text_message(channel, external_id, notice), now)
    await uow.identities.delete_for_citizen(citizen.id)
    await uow.citizens.delete(citizen.id)  # declarations, answers, files' rows, events cascade
    return blobs
