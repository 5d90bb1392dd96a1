"""The int8 graphs (``embedding.precision = int8``): the embedder's sentence graph and the span reader's
states graph with their weights stored in int8, built once on this machine from the f16 graphs
(``assistant models fetch`` or first use, seconds) and kept beside them.

NNCF's weight compression (``INT8_ASYM``: a scale and zero point per output channel) writes the weights;
OpenVINO's CPU plugin quantizes the activations as the graph runs, per token and per group of
:data:`DYNAMIC_GROUP` values (``DYNAMIC_QUANTIZATION_GROUP_SIZE``), so the matmuls run on VNNI int8 with
scales made for each sentence. No calibration text: nothing to choose on a data set. Against NNCF's static
quantization (per-tensor activation scales from 600 calibration sentences, SmoothQuant 0.95, the former
recipe) it is as fast (31.5 vs 33.4 sentences/s, bf16 22.0, two streams) and its vectors are 5-10 times
closer to bf16's (cosine min 0.998 vs 0.985 on 240 dev sentences): ``python -m bench.int8_graphs``.
Needs ``nncf``, a dependency (``pip install nncf`` where it is missing). The recipe
names the graphs' files and keys an int8 index (its manifest), so another recipe is not mixed into it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.errors import EmbeddingError
from assistant.telemetry import hide_telemetry_modules

__all__ = ["compress_graph", "RECIPE", "DYNAMIC_GROUP"]

DYNAMIC_GROUP = 128  # activation values per quantization group: 1.41x bf16 at 128, 1.33x at 64, 1.16x at 32 (one thread)
RECIPE = f"w8a8-dynamic-g{DYNAMIC_GROUP}"


def compress_graph(f16_xml: Path, out: Path) -> None:
    """Write ``f16_xml`` (a float16 graph) to ``out`` with its weights in int8 (:data:`RECIPE`)."""
    hide_telemetry_modules()  # nncf reports through openvino_telemetry when it can import it (assistant/telemetry.py)
    try:
        import nncf
    except ImportError as e:
        raise EmbeddingError("embedding.precision is 'int8' but nncf is not installed: `pip install nncf` (it "
                             "builds the int8 graphs once), or set embedding.precision = 'bf16'") from e
    import openvino as ov

    nncf.set_log_level(logging.WARNING)  # its progress bar stays; its INFO lines about every node do not
    model = nncf.compress_weights(ov.Core().read_model(str(f16_xml)), mode=nncf.CompressWeightsMode.INT8_ASYM)
    tmp = out.with_name(out.stem + ".part.xml")
    ov.save_model(model, str(tmp))
    tmp.with_suffix(".bin").replace(out.with_suffix(".bin"))
    tmp.replace(out)
