"""Read models and workers over the domain: reports, spreadsheets, exports, letters, the
ward office's lists, the outbox sender, schedules, evidence files. Free of transports and the
ORM; the use cases themselves are in ``bot.domain.usecases``."""
