"""The campaign's use cases: one plain function per action over the domain's unit of work,
called alike by the chat's flows, the web console and the command line."""

from __future__ import annotations

__all__: list[str] = []
