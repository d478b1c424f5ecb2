"""Wrong-code counters under a pseudonym: ``code_attempts`` keeps, instead of the chat
account's id, a keyed hash of it (HMAC-SHA-256 of ``channel:id`` with a random key kept in the
new table ``secret_keys``), so that a counter can outlive the erasure of the account's citizen
(the lock-out must not reset by deleting one's data and registering again) without naming the
account. The rows already there are converted; downgrading forgets them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KEY_NAME = "code_attempts"  # storage/repositories/staff.py reads it by this name


def upgrade() -> None:
    keys = op.create_table(
        "secret_keys",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_secret_keys"),
    )
    key = secrets.token_hex(32)
    op.bulk_insert(keys, [{"name": KEY_NAME, "value": key, "created_at": datetime.now(UTC)}])
    attempts = sa.table(
        "code_attempts",
        sa.column("channel", sa.String),
        sa.column("external_id", sa.String),
        sa.column("failures", sa.Integer),
        sa.column("locked_until", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    rows = [dict(row) for row in connection.execute(sa.select(attempts)).mappings()]
    if not rows:
        return
    connection.execute(sa.delete(attempts))
    secret = bytes.fromhex(key)
    for row in rows:
        account = f"{row['channel']}:{row['external_id']}".encode()
        row["external_id"] = hmac.new(secret, account, hashlib.sha256).hexdigest()
    op.bulk_insert(attempts, rows)


def downgrade() -> None:
    op.execute("DELETE FROM code_attempts")  # pseudonyms cannot be turned back into accounts
    op.drop_table("secret_keys")
