"""The cdht command line: wards, export, db upgrade."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import App
from storage import head_revision
from tests.chat import Chat, register


def test_wards_lists_all_114_and_searches(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wards"]) == 0
    out, err = capsys.readouterr()
    assert len(out.strip().splitlines()) == 114
    assert "114 of 114" in err
    assert main(["wards", "phuong", "le", "chan"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[0].endswith("\tPhường Lê Chân")
    assert main(["wards", "qqqqqq"]) == 1


def test_wards_from_an_operator_csv(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "wards.csv").write_text(
        "code,name,kind\n31001,Phường Lê Chân,phường\n", encoding="utf-8"
    )
    monkeypatch.setenv("CDHT_WARDS_CSV", str(env / "wards.csv"))
    assert main(["wards"]) == 0
    out, err = capsys.readouterr()
    assert out == "31001\tPhường Lê Chân\n"
    assert "csv:wards.csv" in err


async def test_export_json_and_csv(
    env: Path, app: App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDHT_DATABASE_URL", app.settings.effective_database_url)
    await register(Chat(app.engine, user="1"))
    await register(Chat(app.engine, user="2"), name="Lưu Thị Ngọc", group="g4")
    await app.close()

    from bot.cli.reports import export_text  # the same code path as `cdht export`, in this loop
    from bot.config import load_settings

    text, count = await export_text(load_settings(), "json", None)
    records = json.loads(text)
    assert count == 2
    first = records[0]
    for key in (
        "full_name",
        "birth_year",
        "gender",
        "phone",
        "group",
        "ward_code",
        "ward_name",
        "residential_group",
        "workplace",
        "channel",
        "registered_at",
        "locale",
    ):
        assert key in first
    assert first["phone"] == "+84912345678"
    assert first["ward_name"] == "Phường Lê Chân"
    assert records[1]["full_name"] == "Lưu Thị Ngọc" and records[1]["group"] == 4

    text, _ = await export_text(load_settings(), "csv", first["ward_code"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 and rows[0]["gender"] == "female"
    text, count = await export_text(load_settings(), "csv", "00000")
    assert count == 0


def test_db_upgrade_and_export_to_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert f"database at revision {head_revision()}" in capsys.readouterr().out
    assert (env / "cdht.sqlite3").exists()
    assert main(["export", "--format", "csv", "--output", str(env / "out.csv")]) == 0
    raw = (env / "out.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,full_name")  # a BOM so Excel reads the accents


def test_coordinator_invite_list_and_revoke(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["coordinator", "invite", "--ward", "99999"]) == 2
    assert "unknown unit code: 99999" in capsys.readouterr().err
    assert main(["coordinator", "invite", "--ward", "11383", "--ward", "11311"]) == 0
    out, err = capsys.readouterr()
    code = out.strip()
    assert len(code) == 11
    assert code[5] == "-"
    assert "Phường Lê Chân, Phường Hồng Bàng" in err
    assert "valid 7 days" in err

    import asyncio

    from bot.app import build_app
    from bot.config import load_settings
    from tests.chat import Chat

    async def redeem() -> None:
        app = build_app(load_settings())
        try:
            chat = Chat(app.engine, user="77")
            await chat.send(f"/coordinator {code}")
            chat.expect("Phường Hồng Bàng, Phường Lê Chân")
        finally:
            await app.close()

    asyncio.run(redeem())
    assert main(["coordinator", "list"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("1\tcoordinator\tactive\ttest:77\t")
    assert main(["coordinator", "revoke", "1"]) == 0
    assert main(["coordinator", "revoke", "1"]) == 1
    assert main(["coordinator", "list"]) == 0
    assert "\trevoked\t" in capsys.readouterr().out
    monkeypatch.setenv("CDHT_ADMINS", "telegram:42")
    assert main(["coordinator", "list"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "-\tadmin\tactive\ttelegram:42\tCDHT_ADMINS"  # configuration, not a record


async def test_broadcast_send_schedule_report_and_cancel(
    env: Path, app: App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDHT_DATABASE_URL", app.settings.effective_database_url)
    await register(Chat(app.engine, user="1"))
    await app.close()
    from bot.cli.broadcasts import broadcast
    from bot.cli.parser import parser
    from bot.cli.shared import CliError
    from bot.config import load_settings

    async def cli(*words: str) -> int:  # what main() does, in this test's event loop
        try:
            return await broadcast(load_settings(), parser().parse_args(["broadcast", *words]))
        except CliError as exc:
            print(exc, file=sys.stderr)
            return exc.code

    assert await cli("send", "--text", "Chào cả phường", "--ward", "11383") == 0
    assert "broadcast 1: 1 recipients, queued now" in capsys.readouterr().out
    (env / "msg.txt").write_text("Tin hẹn giờ", encoding="utf-8")
    assert await cli("send", "--file", str(env / "msg.txt"), "--at", "2099-01-01T08:00") == 0
    assert "broadcast 2: 0 recipients, scheduled for 2099-01-01 08:00:00+07:00" in (
        capsys.readouterr().out
    )
    assert (
        await cli("send", "--text", "Mời khai", "--status", "recognised", "--continue-button") == 0
    )
    assert "broadcast 3: 0 recipients" in capsys.readouterr().out
    assert await cli("report", "1") == 0
    assert "broadcast 1 (queued), recipients 1: sent 0, failed 0, blocked 0, pending 1" in (
        capsys.readouterr().out
    )
    assert await cli("cancel", "1") == 0
    assert "1 messages withdrawn" in capsys.readouterr().out
    assert await cli("report", "9") == 1


@pytest.mark.parametrize("command", [["run"], ["db", "upgrade"], ["export"]])
def test_an_unreachable_database_is_one_line_and_exit_2(
    command: list[str],
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CDHT_DATABASE_URL", "postgresql+asyncpg://cdht:s3cret@127.0.0.1:1/none")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback
    assert err.startswith("database error: cannot use the database at ")
    assert "127.0.0.1:1/none" in err
    assert "s3cret" not in err  # the password is hidden


def test_an_unusable_data_folder_is_one_line_and_exit_2(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "a-file").write_text("not a folder")
    monkeypatch.setenv("CDHT_DATA_DIR", str(env / "a-file" / "var"))
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "cannot create" in err


def test_wards_piped_into_head_ends_quietly(env: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        ["/bin/sh", "-c", f"'{sys.executable}' -m bot wards | head -n 2"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr


def test_units_waiting_without_any_coordinator_are_listed(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.app import build_app
    from bot.config import load_settings
    from tests.verification_helpers import coordinator, submitted

    async def submit() -> str:
        app = build_app(load_settings())
        try:
            await app.migrate()
            return (await submitted(app, "citizen")).text
        finally:
            await app.close()

    told = asyncio.run(submit())  # no coordinator for Lê Chân and no admin configured
    assert "chưa có cán bộ phụ trách trên hệ thống, nên hồ sơ đang chờ" in told
    assert "Hội Khuyến học thành phố" not in told  # not "forwarded" when no one was told
    assert main(["coordinator", "list", "--uncovered"]) == 0
    assert capsys.readouterr().out == "11383\tPhường Lê Chân\t1 waiting\n"

    async def cover() -> None:
        app = build_app(load_settings())
        try:
            await coordinator(app, "coord")
        finally:
            await app.close()

    asyncio.run(cover())
    assert main(["coordinator", "list", "--uncovered"]) == 0
    assert capsys.readouterr().out == ""


def test_an_outdated_unit_code_is_mapped_and_former_names_are_found(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coordinator", "invite", "--ward", "11341"]) == 0  # Ngô Quyền's old code
    _, err = capsys.readouterr()
    assert "unit code 11341 is now 11329" in err and "Phường Ngô Quyền" in err
    assert main(["wards", "du hang kenh"]) == 0  # a unit before the 2025 merger
    assert capsys.readouterr().out.splitlines()[0] == "11383\tPhường Lê Chân"
    assert main(["wards", "thu nghiem"]) == 1  # a name the shipped data does not have
    assert "Phường Lê Chân" not in capsys.readouterr().out
    (env / "aliases.csv").write_text(
        "old_name,old_district,code\nPhường Thử Nghiệm,Quận Lê Chân,11383\n", encoding="utf-8"
    )
    monkeypatch.setenv("CDHT_WARD_ALIASES_CSV", str(env / "aliases.csv"))  # the operator adds it
    assert main(["wards", "thu nghiem"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "11383\tPhường Lê Chân"


def test_a_second_cdht_run_on_one_sqlite_file_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.supervision import only_process
    from bot.config import load_settings

    first = only_process(load_settings())  # as a running `cdht run` holds it
    assert first is not None
    assert main(["run"]) == 2
    assert "use PostgreSQL (CDHT_DATABASE_URL)" in capsys.readouterr().err
    first.close()  # type: ignore[attr-defined]
