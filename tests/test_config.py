"""Configuration: one clear line naming the variable, exit code 2, secrets never logged."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import RedactingFilter
from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:SECRET-do-not-log"


def clean_env(tmp_path: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CDHT_")}
    return {**base, "CDHT_DATA_DIR": str(tmp_path), **env}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CDHT_PROVINCE_CODE", "99"),
        ("CDHT_DEFAULT_LOCALE", "fr"),
        ("CDHT_TELEGRAM_TOKEN", "not-a-token"),
        ("CDHT_TELEGRAM_API_URL", "ftp://x"),
        ("CDHT_ADMINS", "telegram123"),
        ("CDHT_WEBHOOK_PORT", "70000"),
        ("CDHT_LETTER_HEADER", "Một|Hai|Ba|Bốn|Năm"),
        ("CDHT_LETTER_ISSUER", "HỘI KHUYẾN HỌC " * 7),
        ("CDHT_LETTER_HEADER", "Độc lập - Tự do\x07 - Hạnh phúc"),
        ("CDHT_LETTER_ISSUER", "Hội Khuyến học\u200b thành phố Hải Phòng"),
    ],
)
def test_bad_values_name_the_variable(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(variable + ":")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "ok"),
    [
        ("CDHT_TELEGRAM_WEBHOOK_SECRET", "a-Z_09", True),
        ("CDHT_TELEGRAM_WEBHOOK_SECRET", "x" * 256, True),
        ("CDHT_TELEGRAM_WEBHOOK_SECRET", "x" * 257, False),
        ("CDHT_TELEGRAM_WEBHOOK_SECRET", "has space", False),
        ("CDHT_TELEGRAM_WEBHOOK_SECRET", "bí-mật", False),  # letters outside A-Z
        ("CDHT_ZALO_WEBHOOK_SECRET", "8-chars!", True),
        ("CDHT_ZALO_WEBHOOK_SECRET", "7-chars", False),
        ("CDHT_ZALO_WEBHOOK_SECRET", "z" * 257, False),
    ],
)
def test_webhook_secrets_follow_each_platforms_rule(
    variable: str, value: str, ok: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    if ok:
        load_settings()
        return
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(variable + ":")
    assert "\n" not in message
    assert value not in message  # a secret, even a wrong one, is not repeated


def test_the_letters_head_is_lines_with_a_neutral_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("CDHT_")]:
        monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.letter_header == ()  # no national motto unless configured
    assert settings.letter_issuer == ()  # the data controller issues it
    assert settings.data_controller == "Hội Khuyến học thành phố Hải Phòng"
    monkeypatch.setenv(
        "CDHT_LETTER_HEADER", " CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM | Độc lập - Tự do - Hạnh phúc |"
    )
    monkeypatch.setenv("CDHT_LETTER_ISSUER", "HỘI KHUYẾN HỌC THÀNH PHỐ HẢI PHÒNG\nBan Thường vụ")
    settings = load_settings()
    assert settings.letter_header == (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    )
    assert settings.letter_issuer == ("HỘI KHUYẾN HỌC THÀNH PHỐ HẢI PHÒNG", "Ban Thường vụ")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("1|2|3|4|5", "CDHT_LETTER_HEADER: at most 4 lines (separated by | or new lines)"),
        ("x" * 91, "CDHT_LETTER_HEADER: a line is longer than 90 characters"),
        ("Độc\tlập", "CDHT_LETTER_HEADER: control or invisible characters are not allowed"),
    ],
)
def test_a_bad_letter_head_says_what_is_wrong_in_one_line(
    value: str, says: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_LETTER_HEADER", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == says


def test_webhook_needs_its_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_TELEGRAM_WEBHOOK_URL", "https://bot.example/tg")
    with pytest.raises(ConfigError, match="CDHT_TELEGRAM_WEBHOOK_SECRET"):
        load_settings()


def test_defaults_and_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("CDHT_")]:
        monkeypatch.delenv(key)
    (tmp_path / ".env").write_text(
        f"CDHT_TELEGRAM_TOKEN={TOKEN}\nCDHT_ADMINS=telegram:1, zalo:abc\n", encoding="utf-8"
    )
    settings = load_settings()
    assert settings.default_locale == "vi" and settings.province_code == 31
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.effective_database_url.endswith("var/cdht.sqlite3")
    assert [str(a) for a in settings.admins] == ["telegram:1", "zalo:abc"]
    assert settings.telegram_token is not None
    assert TOKEN not in repr(settings)


def test_cli_exits_2_with_one_line_and_no_token(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CDHT_TELEGRAM_TOKEN="123:abc", CDHT_PROVINCE_CODE="0")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "configuration error: CDHT_PROVINCE_CODE: unknown province code"
    ]
    assert "123:abc" not in done.stderr + done.stdout


def test_log_lines_never_show_the_token(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter([TOKEN]))
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    assert TOKEN not in caplog.text
    assert "bot***/getMe" in caplog.text
