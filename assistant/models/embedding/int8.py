"""The int8 graphs: the span reader's states graph (``embedding.reader_precision = int8``, the default) and
the embedder's sentence graph (``embedding.precision = int8``, opt-in), with their weights stored in int8,
made once on this machine from the float16 graphs (``assistant models fetch`` or first use, seconds) and
kept beside them.

NNCF's weight compression (``INT8_ASYM``: a scale and zero point per output channel) writes the weights;
OpenVINO's CPU plugin quantizes the activations as the graph runs, per token and per group of
:data:`DYNAMIC_GROUP` values (``DYNAMIC_QUANTIZATION_GROUP_SIZE``), so the matmuls run on VNNI int8 with
scales made for each sentence. No calibration text: nothing to choose on a data set. Against NNCF's static
quantization (per-tensor activation scales from 600 calibration sentences, SmoothQuant 0.95, the former
recipe) it is about as fast and its vectors are closer to bf16's (``python -m bench.int8_graphs``; README,
"int8"). The compression runs in a child process: NNCF prints its progress on standard output (a
``assistant ask --json`` must print JSON only) and leaves its memory behind. The recipe names the graphs'
files and the runtime tag of int8 vectors (``openvino-int8-<recipe>``), so another recipe is not mixed into
an index.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

from assistant.errors import EmbeddingError

__all__ = ["compress_graph", "RECIPE", "DYNAMIC_GROUP"]

DYNAMIC_GROUP = 128  # activation values per quantization group: 1.41x bf16 at 128, 1.33x at 64, 1.16x at 32 (one thread)
RECIPE = f"w8a8-dynamic-g{DYNAMIC_GROUP}"


def compress_graph(f16_xml: Path, out: Path, *, setting: str = "embedding.precision") -> None:
    """Write ``f16_xml`` (a float16 graph) to ``out`` with its weights in int8 (:data:`RECIPE`), in a child
    process. ``setting``: the setting that asked for int8, named in the error when nncf is missing."""
    if importlib.util.find_spec("nncf") is None:
        raise EmbeddingError(f"{setting} is 'int8' but nncf is not installed: `pip install nncf` (it builds the "
                             f"int8 graphs once), or set {setting} = 'bf16'")
    tmp = out.with_name(f"{out.stem}.tmp{os.getpid()}.xml")  # another process may build the same graph at once
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # finds this package as we did
    done = subprocess.run([sys.executable, "-m", __name__, str(f16_xml), str(tmp)], capture_output=True, text=True,
                          encoding="utf-8", errors="replace", check=False, env=env)
    if done.returncode != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        tmp.with_suffix(".bin").unlink(missing_ok=True)
        raise EmbeddingError(f"building the int8 graph {out} failed ({done.stderr.strip()[-400:]}); set {setting} = "
                             "'bf16'")
    tmp.with_suffix(".bin").replace(out.with_suffix(".bin"))
    tmp.replace(out)


def _compress(f16_xml: str, out: str) -> None:
    """The child's work: read, compress and save (telemetry hidden first, as everywhere)."""
    from assistant.telemetry import hide_telemetry_modules

    hide_telemetry_modules()  # nncf reports through openvino_telemetry when it can import it (assistant/telemetry.py)
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.WARNING)  # its INFO lines about every node
    model = nncf.compress_weights(ov.Core().read_model(f16_xml), mode=nncf.CompressWeightsMode.INT8_ASYM)
    ov.save_model(model, out)


if __name__ == "__main__":
    _compress(sys.argv[1], sys.argv[2])
