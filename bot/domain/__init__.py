"""The campaign: its records and repository ports, its rules and reference data, the one table
of roles and permissions, and one use case per action (``usecases/``). It stands on the
engine alone: no flow, channel, service or database is imported here."""
