"""What a new operator gets wrong on the `cdht` command line ends in one line on stderr, no
traceback, and a non-zero exit (2: the command line or the configuration; 1: asked for
something that is not there); a file that cannot be written whole is not written at all."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bot.__main__ import main

SYS = Path("/sys")  # a read-only place even for root (sysfs refuses new files)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CDHT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CDHT_WEBHOOK_PORT", str(free_port()))  # `cdht console` serves there
    return tmp_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    """What the command said on stderr, checked to be one line."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(
    "command",
    [
        ["report", "--format", "xlsx", "--output", "{missing}/r.xlsx"],
        ["export", "--format", "csv", "--output", "{missing}/x.csv"],
        ["export", "--format", "xlsx", "--output", "{missing}/x.xlsx"],
        ["list", "proposed", "--format", "xlsx", "--output", "{missing}/x.xlsx"],
        ["report", "--output", "{missing}/r.txt"],
    ],
)
def test_an_output_in_a_folder_that_does_not_exist(
    command: list[str], env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = env / "khong-co"
    argv = [word.format(missing=missing) for word in command]
    assert main(argv) == 2
    said = one_line(capsys)
    assert f"the folder {missing} does not exist" in said
    assert not missing.exists()


@pytest.mark.parametrize("command", [["list", "proposed"], ["report"], ["export"]])
def test_an_output_named_as_another_kind_of_file(
    command: list[str], env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """«x.pdf» is not filled with tab-separated text: the name says what the file holds."""
    assert main([*command, "--output", str(env / "x.pdf")]) == 2
    assert "this command writes" in one_line(capsys)
    assert not (env / "x.pdf").exists()


def test_a_folder_given_as_output(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "csv", "--output", str(env)]) == 2
    assert one_line(capsys) == f"--output {env} is a folder; give a file name in it"
    assert main(["report", "--format", "xlsx", "--output", str(env)]) == 2
    assert "is a folder" in one_line(capsys)


@pytest.mark.skipif(not SYS.is_dir(), reason="needs Linux's /sys")
def test_an_output_in_a_read_only_place(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "xlsx", "--output", str(SYS / "x.xlsx")]) == 2
    assert one_line(capsys).startswith(f"cannot write {SYS / 'x.xlsx'}: ")


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (
            ["export", "--format", "xlsx", "--output", "x.csv"],
            "--format xlsx does not match the file name x.csv: end it with .xlsx"
            " or use --format csv",
        ),
        (
            ["export", "--format", "csv", "--output", "x.xlsx"],
            "--format csv does not match the file name x.xlsx: end it with .csv"
            " or use --format xlsx",
        ),
        (
            ["report", "--format", "xlsx", "--output", "r.txt"],
            "--format xlsx does not match the file name r.txt: end it with .xlsx"
            " or use --format text",
        ),
        (
            ["report", "--output", "r.csv"],
            "--output r.csv: this command writes .txt or .xlsx files",
        ),
    ],
)
def test_a_format_that_does_not_match_the_file_name(
    command: list[str], said: str, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 2
    assert one_line(capsys) == said
    assert list(env.glob("*.xlsx")) == [] and list(env.glob("*.csv")) == []


def test_the_file_name_chooses_the_format_when_none_is_given(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--output", "x.xlsx"]) == 0
    assert (env / "x.xlsx").read_bytes().startswith(b"PK")  # a workbook, not JSON
    assert main(["export", "--output", "x.csv"]) == 0
    assert (env / "x.csv").read_bytes().startswith(b"\xef\xbb\xbfid,full_name")
    assert main(["report", "--output", "r.xlsx"]) == 0
    assert (env / "r.xlsx").read_bytes().startswith(b"PK")


def test_a_failed_export_leaves_no_half_written_file(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up half-way: the older file of that name stays as it was, and nothing
    else is left in the folder."""
    import bot.services.spreadsheet as spreadsheet

    def half_then_full(target: Path, *args: object, **kwargs: object) -> None:
        Path(target).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spreadsheet, "report_workbook", half_then_full)
    (env / "r.xlsx").write_bytes(b"last month's report")
    assert main(["report", "--format", "xlsx", "--output", "r.xlsx"]) == 2
    assert one_line(capsys) == "cannot write r.xlsx: No space left on device"
    assert (env / "r.xlsx").read_bytes() == b"last month's report"
    assert main(["report", "--format", "xlsx", "--output", "new.xlsx"]) == 2
    capsys.readouterr()
    assert not (env / "new.xlsx").exists()
    assert leftovers(env) == []


def test_broadcast_mistakes(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["broadcast", "send", "--text", ""]) == 2
    assert one_line(capsys) == (
        "the message is empty: give the words to send with --text or --file"
    )
    assert main(["broadcast", "send", "--text", "   "]) == 2
    assert "the message is empty" in one_line(capsys)
    assert main(["broadcast", "send", "--text", "x", "--at", "ngày mai"]) == 2
    said = one_line(capsys)
    assert "'ngày mai' is not a date and time; write e.g. 2026-12-01T08:00" in said
    assert main(["broadcast", "send", "--text", "Xin chào", "--ward", "99999"]) == 2
    assert one_line(capsys) == "unknown unit code: 99999 (see: cdht wards NAME)"
    assert main(["broadcast", "send", "--file", str(env / "thieu.txt")]) == 2
    assert one_line(capsys) == f"--file {env / 'thieu.txt'}: No such file or directory"
    (env / "latin1.txt").write_bytes("Thông báo".encode("cp1258", errors="replace"))
    assert main(["broadcast", "send", "--file", str(env / "latin1.txt")]) == 2
    assert one_line(capsys) == f"--file {env / 'latin1.txt'}: not UTF-8 text"
    assert main(["broadcast", "cancel", "999"]) == 1
    assert one_line(capsys).startswith("no broadcast 999")
    assert main(["broadcast", "report", "999"]) == 1
    assert one_line(capsys).startswith("no broadcast 999")
    assert main(["broadcast", "send", "--text", "Xin chào cả phường"]) == 0
    assert "broadcast 1: 0 recipients, queued now" in capsys.readouterr().out
    assert main(["broadcast", "cancel", "1"]) == 0
    capsys.readouterr()
    assert main(["broadcast", "cancel", "1"]) == 1
    assert one_line(capsys) == "broadcast 1 was already cancelled"


@pytest.mark.parametrize(
    "command",
    [
        ["report", "--ward", "99999"],
        ["list", "proposed", "--ward", "99999"],
        ["list", "waiting", "--ward", "11383", "--ward", "99999"],
        ["export", "--ward", "99999"],
        ["export", "--format", "xlsx", "--output", "x.xlsx", "--ward", "99999"],
        ["coordinator", "invite", "--ward", "99999"],
        ["broadcast", "send", "--text", "Xin chào", "--ward", "99999"],
    ],
)
def test_an_unknown_unit_code_is_refused_everywhere(
    command: list[str], env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(command) == 2
    assert one_line(capsys) == "unknown unit code: 99999 (see: cdht wards NAME)"
    assert not (env / "x.xlsx").exists()


@pytest.mark.parametrize("year", ["1800", "3000", "abc", "20 26"])
@pytest.mark.parametrize(
    "command", [["report"], ["list", "proposed"], ["export"], ["export", "--format", "csv"]]
)
def test_an_impossible_year_is_refused(
    command: list[str], year: str, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--year", year]) == 2
    said = one_line(capsys)
    assert "argument --year: " in said
    assert "is not a campaign year (2020 to 2100)" in said or "is not a year" in said


def test_a_negative_number_of_days_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "waiting", "--days", "-3"]) == 2
    assert "give a number of days from 0 to 3650" in one_line(capsys)


def test_nobody_on_the_staff_list_is_said_in_words(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["coordinator", "list"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("no coordinators or admins yet: invite one with `cdht coordinator")
    assert main(["coordinator", "list", "--uncovered"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == "no unit has declarations waiting without a coordinator\n"


def test_a_usage_mistake_is_one_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coordinator"]) == 2
    assert one_line(capsys) == (
        "cdht coordinator: the following arguments are required: {invite,list,revoke,capacity}"
        " (see cdht coordinator --help)"
    )
    assert main(["broadcast", "cancel", "abc"]) == 2
    assert "invalid int value: 'abc'" in one_line(capsys)


# -- the configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"", "the file is empty; it needs the columns code,name"),
        (b"ma,ten\n11383,Phuong Le Chan\n", "the first line must name the columns code,name"),
        (b"code,name\n11383,Ph\xf9\xfeng L\xea Ch\xe2n\n", "not UTF-8 text (save it from"),
        (b"code,name\n", "has its column names but no rows"),
        ("folder", "is a folder, not a CSV file"),
    ],
)
@pytest.mark.parametrize("command", [["wards"], ["report"], ["db", "upgrade"], ["console"]])
def test_a_wards_file_that_cannot_be_used(
    content: bytes | str | None,
    problem: str,
    command: list[str],
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = env / "wards.csv"
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    monkeypatch.setenv("CDHT_WARDS_CSV", str(path))
    if command == ["db", "upgrade"]:  # needs no unit list: not stopped by one
        assert main(command) == 0
        capsys.readouterr()
        return
    assert main(command) == 2
    said = one_line(capsys)
    assert said.startswith(f"configuration error: CDHT_WARDS_CSV: {path}"), said
    assert problem in said


def test_a_wards_file_saved_with_semicolons_is_read(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a spreadsheet set to Vietnamese (decimal comma) saves as CSV."""
    (env / "wards.csv").write_text("code;name;kind\n31001;Phường Lê Chân;phường\n", "utf-8")
    monkeypatch.setenv("CDHT_WARDS_CSV", str(env / "wards.csv"))
    assert main(["wards"]) == 0
    assert capsys.readouterr().out == "31001\tPhường Lê Chân\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"", "'code' column"),
        (b"ma,nguoi_lon\n11383,1000\n", "'code' column"),
        (b"code,adults\n11383,nhi\xeau\n", "not UTF-8 text"),
        ("code,adults\n11383,nhiều\n".encode(), "adults is not a number"),
        (b"code,adults\n99999,1000\n", "unknown unit code 99999"),  # a unit the list lacks
    ],
)
@pytest.mark.parametrize("command", [["report"], ["console"]])
def test_a_population_file_that_cannot_be_used(
    content: bytes | None,
    problem: str,
    command: list[str],
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = env / "population.csv"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("CDHT_POPULATION_CSV", str(path))
    assert main(command) == 2
    said = one_line(capsys)
    assert said.startswith("configuration error: CDHT_POPULATION_CSV: "), said
    assert problem in said


def test_a_missing_former_names_file_is_said(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDHT_WARD_ALIASES_CSV", str(env / "aliases.csv"))
    assert main(["wards", "le chan"]) == 2
    assert one_line(capsys) == (
        f"configuration error: CDHT_WARD_ALIASES_CSV: {env / 'aliases.csv'}: no such file"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://cdht:s3cret@127.0.0.1:1/none", "postgresql://cdht:***@127.0.0.1:1/none"),
        ("postgres://cdht:s3cret@127.0.0.1:1/none", "postgres://cdht:***@127.0.0.1:1/none"),
        (
            "postgresql://cdht@127.0.0.1:1/none?sslmode=require",
            "postgresql://cdht@127.0.0.1:1/none?sslmode=require",
        ),
    ],
)
def test_a_postgresql_address_as_its_documentation_writes_it_is_used_with_asyncpg(
    url: str,
    shown: str,
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`postgresql://…` is what PostgreSQL's documentation (and hosting providers) give: the
    bot connects with asyncpg (here to a port nobody answers: the driver's own refusal)."""
    from storage import create_engine

    engine = create_engine(url)
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "asyncpg")
    monkeypatch.setenv("CDHT_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 2
    said = one_line(capsys)
    assert said.startswith(f"database error: cannot use the database at {shown} ("), said
    assert "ConnectionRefusedError" in said or "OSError" in said
    assert "s3cret" not in said


def test_libpq_sslmode_becomes_asyncpgs_ssl() -> None:
    from storage.db import async_url

    assert async_url("postgresql://u:p@db.example/cdht?sslmode=require") == (
        "postgresql+asyncpg://u:p@db.example/cdht?ssl=require"
    )
    assert async_url("sqlite:///var/cdht.sqlite3") == "sqlite+aiosqlite:///var/cdht.sqlite3"
    unchanged = "postgresql+asyncpg://u@127.0.0.1/cdht"
    assert async_url(unchanged) == unchanged


async def test_a_postgresql_address_without_a_driver_works(tmp_path: Path) -> None:
    """Against a real server where one is configured (CDHT_TEST_POSTGRES_URL)."""
    from sqlalchemy.engine import make_url

    from storage import create_engine, current_revision, head_revision, upgrade
    from tests.conftest import POSTGRES_URL, reset_postgres

    if not POSTGRES_URL:
        pytest.skip("CDHT_TEST_POSTGRES_URL is not set")
    await reset_postgres(POSTGRES_URL)
    plain = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)
    engine = create_engine(plain)
    try:
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://cdht@localhost/cdht", "the bot cannot use 'mysql'"),
        ("postgresql+psycopg2://cdht@localhost/cdht", "the bot cannot use 'postgresql+psycopg2'"),
        ("localhost:5432/cdht", "not a database address"),
    ],
)
@pytest.mark.parametrize("command", [["db", "upgrade"], ["run"], ["report"]])
def test_a_database_address_the_bot_cannot_use_says_what_to_write(
    url: str,
    said: str,
    command: list[str],
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CDHT_DATABASE_URL", url)
    assert main(command) == 2
    line = one_line(capsys)
    assert line.startswith(f"configuration error: CDHT_DATABASE_URL: {said}; ")
    assert line.endswith(
        "write postgresql://USER:PASSWORD@HOST/DATABASE, or leave it unset for the SQLite "
        "file in the data folder"
    )


@pytest.mark.parametrize("command", [["db", "upgrade"], ["console"], ["report"]])
def test_a_data_folder_that_cannot_be_written_in(
    command: list[str],
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read-only folder (a read-only mount, or another user's): one line before SQLite is
    even tried. Root ignores permission bits, so the test also has the kernel's answer for
    it be what it is for anyone else."""
    folder = env / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder else real(p, mode))
    monkeypatch.setenv("CDHT_DATA_DIR", str(folder))
    try:
        assert main(command) == 2
    finally:
        folder.chmod(0o755)
    said = one_line(capsys)
    assert said.startswith("database error: cannot use the database at sqlite+aiosqlite:")
    assert f"(cannot write in {folder} (read-only or not permitted))" in said


def test_a_file_given_as_the_data_folder(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (env / "notes.txt").write_text("not a folder")
    monkeypatch.setenv("CDHT_DATA_DIR", str(env / "notes.txt"))
    assert main(["db", "upgrade"]) == 2
    assert f"cannot use {env / 'notes.txt'}: it is a file, not a folder" in one_line(capsys)


def test_a_database_that_does_not_open_is_one_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (env / "other.sqlite3").write_bytes(b"not a database, " * 16)
    monkeypatch.setenv("CDHT_DATABASE_URL", f"sqlite:///{env / 'other.sqlite3'}")
    assert main(["db", "upgrade"]) == 2
    said = one_line(capsys)
    assert said.startswith("database error: cannot use the database at sqlite:///")
    assert "file is not a database" in said
