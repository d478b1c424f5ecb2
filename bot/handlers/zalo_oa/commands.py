"""``cdht zalo-oa connect|list``: the wards' Official Accounts, connected from the server.

``connect --ward CODE --refresh-token TOKEN`` refreshes once with the token the OA's admin
granted the app (single use: it is spent here), asks Zalo which OA it is, and stores the OA
with its ward and its new token pair; ``--refresh-token -`` reads the token from standard
input, so that it stays out of the shell's history and the process list. ``list`` shows each
OA, its ward and when its tokens expire."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from bot.domain.calendar import VN_TIME
from bot.handlers.zalo_oa.client import TokenRefused
from bot.services.outbox import DeliveryError

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["COMMANDS", "add_commands", "run_command"]

COMMANDS = ("zalo-oa",)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    oa = commands.add_parser("zalo-oa", help="the wards' Zalo Official Accounts")
    oa_commands = oa.add_subparsers(dest="oa_command", required=True, metavar="{connect,list}")
    connect = oa_commands.add_parser(
        "connect", help="connect a ward's OA with a refresh token its admin granted"
    )
    connect.add_argument("--ward", required=True, help="the ward's code (see: cdht wards NAME)")
    connect.add_argument(
        "--refresh-token", required=True, help="the granted refresh token, or - to read it"
    )
    oa_commands.add_parser("list", help="each OA, its ward and when its token expires")


async def run_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import load_wards
    from bot.cli.shared import CliError, unit_codes
    from bot.cli.store import open_store
    from bot.handlers.zalo_oa.start import api_of
    from bot.handlers.zalo_oa.tokens import OaTokens

    if not settings.zalo_oa_app_id:
        raise CliError("CDHT_ZALO_OA_APP_ID is not set: configure the Zalo app first")
    wards = load_wards(settings)
    async with open_store(settings) as store:
        tokens = OaTokens(api_of(settings), store)
        try:
            if args.oa_command == "list":
                connected = await tokens.all()
                for oa in connected:
                    unit = wards.get(oa.ward_code)
                    print(
                        f"{oa.oa_id}\t{oa.ward_code}\t{unit.name if unit else oa.ward_code}\t"
                        f"{oa.name}\taccess until {_local(oa.expires_at)}\t"
                        f"refresh until {_local(oa.refresh_expires_at)}"
                        + (
                            f"\tREFUSED by Zalo at {_local(oa.refused_at)}: connect it again"
                            if oa.refused_at
                            else ""
                        )
                    )
                if not connected:
                    print("no Official Account connected (cdht zalo-oa connect)", file=sys.stderr)
                return 0
            (code,) = unit_codes(wards, [args.ward])
            token = args.refresh_token
            if token == "-":  # noqa: S105 - read from standard input
                token = sys.stdin.readline()
            token = token.strip()
            if not token:
                raise CliError("the refresh token is empty")
            try:
                oa = await tokens.connect(code, token)
            except TokenRefused:
                raise CliError(
                    "Zalo refused the refresh token (used already, expired, or of another app):"
                    " ask the OA's admin to grant access again",
                    code=1,
                ) from None
            except DeliveryError as exc:
                raise CliError(f"cannot reach Zalo ({exc}); nothing was stored", code=1) from None
            unit = wards.get(code)
            print(
                f"connected {oa.name} (OA {oa.oa_id}) to {unit.name if unit else code}; "
                f"its access token is valid until {_local(oa.expires_at)}"
            )
            return 0
        finally:
            await tokens.api.close()


def _local(moment: datetime) -> str:
    return moment.astimezone(VN_TIME).strftime("%Y-%m-%d %H:%M")
