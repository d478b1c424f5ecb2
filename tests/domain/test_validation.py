"""Phone numbers shown as people write them, the same as phonenumbers lays them out."""

from __future__ import annotations

import phonenumbers

from bot.domain.validation import national_phone


def library(e164: str) -> str:
    number = phonenumbers.parse(e164, "VN")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))


def test_the_mobile_fast_path_agrees_with_phonenumbers_for_every_prefix() -> None:
    checked = 0
    for prefix in range(300, 1000):
        e164 = f"+84{prefix}{prefix * 7 % 1000:03d}{prefix % 1000:03d}"
        number = phonenumbers.parse(e164, "VN")
        if not phonenumbers.is_valid_number(number):
            continue
        assert national_phone(e164) == library(e164), e164
        checked += 1
    assert checked > 50  # Viettel, Vinaphone, MobiFone, Vietnamobile, Gmobile, Itel ranges


def test_landlines_and_odd_values_go_through_phonenumbers() -> None:
    assert national_phone("+842253841234") == "0225 3841 234"  # Hải Phòng's landline
    assert national_phone("+84912345678") == "0912 345 678"
    assert national_phone("not a phone") == "not a phone"
