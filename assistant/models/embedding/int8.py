"""The int8 sentence graph (``embedding.precision = int8``): NNCF's post-training quantization of the
shipped f16 graph, built once on this machine (``assistant models fetch`` or first use, a few minutes) and
kept beside it.

Calibrated on ``int8-calibration.txt`` (600 sentences of MLQA Arabic and TyDi QA English, framed as documents
with their article's title, as the embedder frames them; tools/int8_calibration.py), with SmoothQuant at
alpha 0.95 on the MatMuls and the dense head after pooling kept in bf16: the variant
`python -m bench.int8_graphs` found fastest (1.96x the bf16 graph's sentences/s on one core). Calibrating
with the titles is what keeps the answers (README, "int8"). Needs ``nncf`` (``pip install nncf``), which
is not a dependency. The graph's file is named after the calibration text's digest, and an index built on
it records that digest, so another calibration builds another graph and is not mixed into the index.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from assistant.errors import EmbeddingError
from assistant.models.embedding.framed import frame_document
from assistant.resources import shipped

__all__ = ["quantize_sentence_graph", "calibration_text", "calibration_digest", "SMOOTH_QUANT_ALPHA", "KEPT_BF16"]

SMOOTH_QUANT_ALPHA = 0.95
KEPT_BF16 = r".*dense.*"  # the projection head after pooling
CALIBRATION = "models/embedding/int8-calibration.txt"


def calibration_text() -> list[str]:
    """The shipped calibration sentences (``title<TAB>sentence`` a line), framed as documents."""
    lines = shipped(CALIBRATION).read_text(encoding="utf-8").splitlines()
    return [frame_document(text, title) for title, _, text in
            (line.partition("\t") for line in lines if line.strip() and not line.startswith("#"))]


def calibration_digest() -> str:
    """The first 12 hex digits of the calibration text's SHA-256: what the int8 graph is named after."""
    return hashlib.sha256(shipped(CALIBRATION).read_bytes()).hexdigest()[:12]


def quantize_sentence_graph(f16_xml: Path, inputs: list[tuple[Any, Any]], out: Path, *,
                            kept_bf16: str | None = KEPT_BF16, smooth_quant: float | None = SMOOTH_QUANT_ALPHA) -> None:
    """Write the int8 graph of the sentence graph ``f16_xml`` to ``out``, calibrated on ``inputs``: the
    (input_ids, attention_mask) of :func:`calibration_text`, one text each. ``kept_bf16``: a pattern of the
    operations left in bf16; ``smooth_quant``: SmoothQuant's alpha on MatMuls (None: NNCF's own; the
    defaults are what ``embedding.precision = int8`` builds, bench/int8_graphs.py tries others)."""
    try:
        import nncf
    except ImportError as e:
        raise EmbeddingError("embedding.precision is 'int8' but nncf is not installed: `pip install nncf` (it "
                             "builds the int8 graph once), or set embedding.precision = 'bf16'") from e
    import openvino as ov

    nncf.set_log_level(logging.WARNING)  # its progress bars stay; its INFO lines about every node do not
    options: dict[str, Any] = {}
    if kept_bf16 is not None:
        options["ignored_scope"] = nncf.IgnoredScope(patterns=[kept_bf16], validate=False)
    if smooth_quant is not None:
        options["advanced_parameters"] = nncf.AdvancedQuantizationParameters(
            smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=smooth_quant))
    model = nncf.quantize(
        ov.Core().read_model(str(f16_xml)),
        nncf.Dataset(inputs, lambda b: {"input_ids": b[0], "attention_mask": b[1]}),
        model_type=nncf.ModelType.TRANSFORMER, subset_size=len(inputs), **options,
    )
    tmp = out.with_name(out.stem + ".part.xml")
    ov.save_model(model, str(tmp))
    tmp.with_suffix(".bin").replace(out.with_suffix(".bin"))
    tmp.replace(out)
