"""Use cases and domain rules, free of transports and the ORM."""
