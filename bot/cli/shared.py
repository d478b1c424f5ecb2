"""What the commands share: a mistake said in one line (``CliError``), unit codes as typed
resolved against the province's list, a use case's answer in words, this campaign year."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.domain.calendar import campaign_year
from bot.engine.types import Text

if TYPE_CHECKING:
    from bot.domain.wards import WardDirectory
    from bot.i18n import Translator

__all__ = ["CliError", "say", "this_year", "unit_codes"]


class CliError(Exception):
    """A mistake on the command line, said in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def unit_codes(wards: WardDirectory, codes: Sequence[str]) -> list[str]:
    """The codes as the list has them (an outdated one mapped, aloud); an unknown one is
    refused."""
    current = []
    for typed in codes:
        code = wards.current_code(typed.strip())
        if code != typed.strip():
            print(f"unit code {typed} is now {code}", file=sys.stderr)
        current.append(code)
    unknown = [typed for typed, code in zip(codes, current, strict=True) if wards.get(code) is None]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise CliError(f"unknown unit code{plural}: {', '.join(unknown)} (see: cdht wards NAME)")
    return current


def say(translator: Translator, locale: str, text: Text) -> str:
    """A use case's answer in words (its parameters may be texts too)."""
    params = {
        key: say(translator, locale, value) if isinstance(value, Text) else value
        for key, value in text.params.items()
    }
    return translator(locale, text.key, **params)


def this_year(settings: Settings) -> int:
    """The campaign year now (``CDHT_CAMPAIGN_YEAR`` when set)."""
    return campaign_year(datetime.now(UTC), settings.campaign_year)
