"""The criteria file: loaded as data, validated with messages that name the problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.domain.criteria import CRITERIA_DIR, CriteriaError, load_criteria


def original() -> dict[str, Any]:
    return dict(json.loads((CRITERIA_DIR / "qd324-2023.json").read_text(encoding="utf-8")))


def test_the_set_in_force_has_three_competencies_and_ten_indicators() -> None:
    criteria = load_criteria()
    assert criteria.id == "qd324-2023"
    assert len(criteria.competencies) == 3
    assert [i.id for i in criteria.indicators] == list(range(1, 11))
    assert criteria.max_total == 100
    assert criteria.min_total == 80
    assert criteria.indicator(5).competency == "c2"
    assert "VNeID" in criteria.indicator(5).hint["vi"]
    pupils = criteria.indicator(2).wording(4, "vi")
    assert pupils != criteria.indicator(2).wording(1, "vi")
    assert criteria.indicator(1).wording(4, "en") == criteria.indicator(1).text["en"]


def test_the_recognition_rule_is_data() -> None:
    criteria = load_criteria()
    all_eight = {i: 8 for i in range(1, 11)}
    assert criteria.evaluate(all_eight).recognised
    low_six = criteria.evaluate({**all_eight, 6: 4, 1: 10, 2: 10})
    assert low_six.total == 80  # the total alone would pass
    assert not low_six.recognised
    assert low_six.low == ((6, 5),)
    short = criteria.evaluate({i: 7 for i in range(1, 11)})
    assert short.below_total
    assert not short.recognised
    partial = criteria.evaluate({1: 10, 2: None})
    assert (partial.answered, partial.complete, partial.recognised) == (1, False, False)


def broken(tmp_path: Path, change: Any) -> str:
    data = original()
    change(data)
    (tmp_path / "qd324-2023.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CriteriaError) as caught:
        load_criteria("qd324-2023", tmp_path)
    return str(caught.value)


def test_a_missing_translation_is_named(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["indicators"][6]["hint"].pop("en"))
    assert message == "qd324-2023.json: indicator 7 hint: missing the 'en' translation"


def test_a_duplicate_id_is_named(tmp_path: Path) -> None:
    def duplicate(data: dict[str, Any]) -> None:
        data["indicators"][3]["id"] = 3

    assert broken(tmp_path, duplicate).endswith("indicator 3: duplicate id")


def test_a_bad_maximum_is_named(tmp_path: Path) -> None:
    def bad(data: dict[str, Any]) -> None:
        data["indicators"][0]["max"] = 0

    assert "indicator 1: bad maximum 0" in broken(tmp_path, bad)


def test_a_rule_on_an_unknown_indicator_is_named(tmp_path: Path) -> None:
    def unknown(data: dict[str, Any]) -> None:
        data["recognition"]["minimums"][0]["indicators"].append(11)

    assert broken(tmp_path, unknown).endswith("recognition: refers to unknown indicator 11")


def test_other_mistakes(tmp_path: Path) -> None:
    assert "unknown competency 'c9'" in broken(
        tmp_path, lambda d: d["indicators"][0].update(competency="c9")
    )
    assert "above the maximum 100" in broken(
        tmp_path, lambda d: d["recognition"].update(min_total=120)
    )
    (tmp_path / "x.json").write_text("{", encoding="utf-8")
    with pytest.raises(CriteriaError, match="not valid JSON"):
        load_criteria("x", tmp_path)
    with pytest.raises(CriteriaError, match="no such criteria file"):
        load_criteria("nope", tmp_path)


def test_start_up_stops_on_a_bad_criteria_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDHT_")}
    env.update(CDHT_DATA_DIR=str(tmp_path), CDHT_CRITERIA_SET="qd999-2099")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console"], env=env, cwd=tmp_path, input="",
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().endswith("qd999-2099.json: no such criteria file")


def test_every_indicator_has_a_guide_and_marks_which_texts_are_official() -> None:
    criteria = load_criteria()
    for indicator in criteria.indicators:
        assert [(b.low, b.high) for b in indicator.guide] == [(0, 4), (5, 7), (8, 10)]
        band = indicator.band(6)
        assert band is not None and band.low == 5
        assert indicator.origin.get("guide") == "ours"  # our wording, replaceable
        assert indicator.origin.get("text") in ("official", "framework")
        assert indicator.short["vi"] and indicator.short["en"]


def test_residents_do_not_read_about_colleagues_or_business_and_pupils_ask_their_school() -> None:
    criteria = load_criteria()
    for indicator in criteria.indicators:
        resident = (indicator.wording(1, "vi") + indicator.hint_for(1, "vi")).lower()
        for word in ("đồng nghiệp", "năng suất lao động", "kinh doanh", "doanh nghiệp"):
            assert word not in resident, (indicator.id, word)
        pupil = indicator.hint_for(4, "vi").lower()
        assert "tổ trưởng" not in pupil and "trưởng thôn" not in pupil, indicator.id
    assert "giáo viên" in criteria.indicator(9).hint_for(4, "vi")


def test_a_guide_with_a_gap_and_an_unknown_origin_are_named(tmp_path: Path) -> None:
    def gap(data: dict[str, Any]) -> None:
        data["indicators"][1]["guide"][1]["from"] = 6

    assert "indicator 2 guide: band 2 should start at 5" in broken(tmp_path, gap)

    def origin(data: dict[str, Any]) -> None:
        data["indicators"][0]["origin"]["text"] = "copied"

    assert "indicator 1 origin of text: one of official, framework, ours" in broken(
        tmp_path, origin
    )
