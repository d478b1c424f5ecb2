"""Tables, in SQLAlchemy Core (about 7x cheaper per update than ORM sessions on this path)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    false,
    true,
)

__all__ = [
    "broadcasts",
    "channel_state",
    "citizen_changes",
    "citizens",
    "code_attempts",
    "consents",
    "conversations",
    "declaration_answers",
    "declaration_events",
    "declarations",
    "evidence_files",
    "identities",
    "inbox",
    "invitations",
    "link_codes",
    "metadata",
    "org_verifications",
    "orgs",
    "outbox",
    "processed_updates",
    "reminder_steps",
    "secret_keys",
    "staff",
    "staff_wards",
    "web_sessions",
    "web_sign_ins",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids that are still SQLite's rowid on SQLite
Id = BigInteger().with_variant(Integer(), "sqlite")

citizens = Table(
    "citizens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("full_name", String(100), nullable=False),
    Column("birth_year", SmallInteger, nullable=False),
    Column("gender", String(10)),
    Column("phone", String(20), nullable=False),
    Column("target_group", SmallInteger, nullable=False),
    Column("ward_code", String(10), nullable=False),
    Column("ward_name", String(100), nullable=False),
    Column("ward_data_version", String(60), nullable=False),
    Column("residential_group", String(100), nullable=False),
    Column("workplace", String(150)),
    Column("guardian_consent", Boolean),
    Column("channel", String(16), nullable=False),
    Column("locale", String(5), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("org_id", Id),  # the organisation named as workplace or school, from `orgs`
    Index("ix_citizens_ward_code", "ward_code"),
    Index("ix_citizens_org_id", "org_id"),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("citizen_id", Id, ForeignKey("citizens.id", ondelete="SET NULL")),
    Column("locale", String(5)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("unreachable_at", DateTime(timezone=True)),  # the user blocked the bot
    Column("opted_out_at", DateTime(timezone=True)),  # /stop: no broadcasts or reminders
    Column("menu", JSON),  # the menu shown outside any step, which a typed number answers
    UniqueConstraint("channel", "external_id", name="uq_identities_channel_external_id"),
    Index("ix_identities_citizen_id", "citizen_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column(
        "identity_id",
        Id,
        ForeignKey("identities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("flow", String(32), nullable=False),
    Column("step", String(48), nullable=False),
    Column("collected", JSON, nullable=False),
    Column("history", JSON, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

consents = Table(
    "consents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("citizen_id", Id, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False),
    Column("notice_version", String(32), nullable=False),
    Column("purposes", JSON, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("channel", String(16), nullable=False),
    Column("guardian_name", String(100)),  # a guardian's consent for someone under 16
    Column("guardian_relation", String(50)),
    Index("ix_consents_citizen_id", "citizen_id"),
)

processed_updates = Table(
    "processed_updates",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("update_id", String(64), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False),
    Index("ix_processed_updates_processed_at", "processed_at"),
)

# Updates received and acknowledged to their platform but not handled yet (a restart handles
# them, in each user's order); a handled update leaves this table in its own transaction.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("update_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "update_id", name="uq_inbox_channel_update_id"),
)

declarations = Table(
    "declarations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("citizen_id", Id, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("criteria_set", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("review_round", Integer, nullable=False, server_default="1"),
    Column("claimed_by", Id),
    Column("claimed_at", DateTime(timezone=True)),
    Column("reviewer", Id),  # the staff member who last returned or decided it
    Column("decision", String(16)),
    Column("decision_reason", String(1000)),
    Column("decided_by", String(80)),
    Column("decided_at", DateTime(timezone=True)),
    Column("return_note", String(1000)),
    Column("reopened", JSON),
    Column("evidence_purged_at", DateTime(timezone=True)),  # the retention rule's deletion
    Column("assigned_to", Id),  # the reviewer it was given to; NULL: the ward's pool
    Column("assigned_at", DateTime(timezone=True)),
    UniqueConstraint("citizen_id", "year", name="uq_declarations_citizen_id_year"),
    Index("ix_declarations_status", "status"),
    Index("ix_declarations_assigned_to", "assigned_to"),
)

declaration_answers = Table(
    "declaration_answers",
    metadata,
    Column(
        "declaration_id",
        Id,
        ForeignKey("declarations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("indicator", SmallInteger, primary_key=True),
    Column("score", SmallInteger),
    Column("note", String(500)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("verified_score", SmallInteger),
    Column("adjust_reason", String(500)),
)

citizen_changes = Table(  # corrections of a profile: what changed, when, by whom
    "citizen_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("citizen_id", Id, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False),
    Column("field", String(32), nullable=False),
    Column("old_value", String(300)),
    Column("new_value", String(300)),
    Column("actor", String(80), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_citizen_changes_citizen_id", "citizen_id"),
)

link_codes = Table(  # one-time codes that link a second chat account to the same citizen
    "link_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("citizen_id", Id, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False),
    Column("issued_by", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by", String(80)),
)

evidence_files = Table(
    "evidence_files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id", ondelete="CASCADE"), nullable=False),
    Column("indicator", SmallInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("mime_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("original_name", String(255)),
    Column("channel", String(16), nullable=False),
    Column("channel_file_id", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "declaration_id", "indicator", "sha256", name="uq_evidence_files_declaration_id"
    ),
    Index("ix_evidence_files_sha256", "sha256"),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("invited_by", String(80)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("display_name", String(120)),  # shown to citizens instead of the account
    Column("phone", String(20)),  # given by the coordinator for citizens to call, optional
    # an officer who decides where a ward of its has no coordinator (`--decide`)
    Column("decides", Boolean, nullable=False, server_default=false()),
    Column("capacity", Integer),  # open declarations given at most; NULL: the configured default
    Column("away_since", DateTime(timezone=True)),  # `/away`: no new declarations
    Column("org_id", Id),  # an organisation verifier's organisation
    UniqueConstraint("channel", "external_id", name="uq_staff_channel_external_id"),
)

staff_wards = Table(
    "staff_wards",
    metadata,
    Column("staff_id", Id, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("ward_code", String(10), primary_key=True),
    Index("ix_staff_wards_ward_code", "ward_code"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("wards", JSON, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by", Id),
    Column("decides", Boolean, nullable=False, server_default=false()),
    Column("org_id", Id),  # an organisation verifier's invitation: its organisation
)

orgs = Table(  # schools, agencies, enterprises the admins keep (`cdht org add`)
    "orgs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(150), nullable=False),
    Column("ward_code", String(10), nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("name", "ward_code", name="uq_orgs_name_ward_code"),
)

org_verifications = Table(  # an organisation's confirmation of a declaration, per review round
    "org_verifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", Id, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("round", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("declaration_id", "round", name="uq_org_verifications_round"),
)

reminder_steps = Table(  # reminders as campaign steps the admins edit (migration 0015)
    "reminder_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event", String(16), nullable=False),  # registered, idle, returned
    Column("days", Integer, nullable=False),  # after the event
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(80), nullable=False),
    UniqueConstraint("event", "days", name="uq_reminder_steps_event_days"),
)

code_attempts = Table(  # wrong codes in a row, per chat account; they outlive an erasure
    "code_attempts",
    metadata,
    Column("channel", String(16), primary_key=True),
    # not the account's id: HMAC-SHA-256 of "channel:id" under secret_keys' "code_attempts"
    Column("external_id", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

secret_keys = Table(  # random keys the database keeps for itself (code_attempts' pseudonyms)
    "secret_keys",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("dedupe_key", String(120), unique=True),
    Column("not_before", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", String(200)),
    Column("sent_via", String(16)),  # how a channel with two ways sent it (a Zalo OA: template)
    Column("broadcast_id", Id),
    Column("citizen_id", Id),  # the citizen a message is about, so that erasure finds it
    Index("ix_outbox_due", "status", "channel", "priority", "id"),
    Index("ix_outbox_broadcast_id", "broadcast_id"),
    Index("ix_outbox_citizen_id", "citizen_id"),
    Index("ix_outbox_recipient", "channel", "external_id"),
)

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("text", String(4000), nullable=False),
    Column("choices", JSON, nullable=False),
    Column("audience", JSON, nullable=False),
    Column("created_by", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # scheduled, queued, cancelled
    Column("recipients", Integer, nullable=False),
    Index("ix_broadcasts_status", "status"),
)

declaration_events = Table(
    "declaration_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("declaration_id", Id, ForeignKey("declarations.id", ondelete="CASCADE"), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("reason", String(1000)),
    Column("adjusted", JSON),
    Column("round", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_declaration_events_declaration_id", "declaration_id"),
)

web_sign_ins = Table(  # one-time links to the web console, sent in the chat (hash only)
    "web_sign_ins",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

web_sessions = Table(  # the web console's sessions (hash of the cookie's secret)
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("account", String(80), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
)


# what a channel keeps for itself (a Zalo OA's tokens, when a user last wrote to it)
channel_state = Table(
    "channel_state",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("version", Integer, nullable=False),  # compare-and-set: bumped by every write
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
