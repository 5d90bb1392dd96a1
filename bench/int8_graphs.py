"""int8 variants of the embedder's OpenVINO sentence graph against today's bf16 graph, from one run (issue 24).

Each variant is a post-training NNCF quantization of the shipped f16 graph (``nncf``, a dependency).
``dynamic`` is what ``embedding.precision = int8`` builds (int8 weights, activations quantized per token as
the graph runs: assistant/models/embedding/int8.py); the others are static quantizations, calibrated on
training text only (``../shared/data/train``: sentences of MLQA Arabic and TyDi QA English contexts, framed
as documents with their titles; ``sq95`` was the shipped recipe before ``dynamic``). Each is then run beside
the bf16 graph on the same dev sentences (xquad-dev.ar, xquad-dev.en, arcd-train contexts) with the same thread count: sentences/s
of each, the ratio, and the cosine of the int8 vectors to the bf16 ones (mean, min). Cosine is a filter,
not the bar: a variant is only worth shipping if first-citation hit@1 and the reader's F1 hold on every dev
set (the issue's gate), which this script does not measure.

Static variants: ``all`` (every MatMul int8), ``keep-down`` (the MLPs' down projections and the dense head
in bf16), ``keep-edges`` (the down projections of layers 0, 1, 22, 23 and the head), ``sq95`` (SmoothQuant
alpha 0.95 on MatMuls, the head in bf16).

    python -m bench.int8_graphs [--variants dynamic sq95] [--calibration 300] [--sentences 240] [--threads 1]
"""

from __future__ import annotations

import json
import logging
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.models.embedding.framed import frame_document
from assistant.models.embedding.int8 import compress_graph
from assistant.models.embedding.openvino_runtime import GemmaTokenizer, OpenVINORunner, by_length, padded
from assistant.models.fetch import gemma_path
from assistant.settings import Settings
from assistant.telemetry import hide_telemetry_modules
from assistant.text.sentences import split_article
from bench.common import ROOT, arguments, shared_data, write_result

CALIBRATION = ("train/mlqa-dev-ar.json", "train/tydiqa-goldp-en-train.json")
DEV = ("qa/xquad-dev.ar.json", "qa/xquad-dev.en.json", "qa/arcd-train.json")
# None: the product's dynamic int8; else the keyword arguments of static()
VARIANTS: dict[str, dict[str, Any] | None] = {
    "dynamic": None,
    "all": {"kept_bf16": None, "smooth_quant": None},
    "keep-down": {"kept_bf16": r".*(mlp\.down_proj|dense).*", "smooth_quant": None},
    "keep-edges": {"kept_bf16": r".*(layers\.(0|1|22|23)\.mlp\.down_proj|dense).*", "smooth_quant": None},
    "sq95": {"kept_bf16": r".*dense.*", "smooth_quant": 0.95},
}


def sentences(data: Path, files: tuple[str, ...], n: int, seed: int) -> list[str]:
    """``n`` sentences of the contexts of ``files``, shuffled with ``seed``, framed as documents with their
    article's title (as the embedder frames them)."""
    found = []
    for name in files:
        for entry in json.loads((data / name).read_text(encoding="utf-8"))["data"]:
            for i, para in enumerate(entry["paragraphs"]):
                found += [frame_document(s.text, entry.get("title")) for s in split_article(f"p{i}", para["context"])]
    random.Random(seed).shuffle(found)
    return found[:n]


def static(f16_xml: Path, inputs: list[tuple[Any, Any]], out: Path, *, kept_bf16: str | None,
           smooth_quant: float | None) -> None:
    """NNCF's static post-training quantization of ``f16_xml`` to ``out``, calibrated on ``inputs`` (the
    (input_ids, attention_mask) of one text each); ``kept_bf16``: a pattern of the operations left in bf16;
    ``smooth_quant``: SmoothQuant's alpha on MatMuls (None: NNCF's own)."""
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.WARNING)
    options: dict[str, Any] = {}
    if kept_bf16 is not None:
        options["ignored_scope"] = nncf.IgnoredScope(patterns=[kept_bf16], validate=False)
    if smooth_quant is not None:
        options["advanced_parameters"] = nncf.AdvancedQuantizationParameters(
            smooth_quant_alphas=nncf.AdvancedSmoothQuantParameters(matmul=smooth_quant))
    model = nncf.quantize(ov.Core().read_model(str(f16_xml)),
                          nncf.Dataset(inputs, lambda b: {"input_ids": b[0], "attention_mask": b[1]}),
                          model_type=nncf.ModelType.TRANSFORMER, subset_size=len(inputs), **options)
    ov.save_model(model, str(out))


def quantize(f16_xml: Path, tokenizer: GemmaTokenizer, calibration: list[str], variant: dict[str, Any] | None,
             out: Path) -> float:
    """Write the int8 graph of ``variant`` to ``out``; returns the seconds it took."""
    enc = tokenizer.encode(calibration) if variant is not None else []
    t = time.perf_counter()
    if variant is None:
        compress_graph(f16_xml, out)
    else:
        static(f16_xml, [padded(enc, [i]) for i in range(len(enc))], out, **variant)
    return time.perf_counter() - t


def embed(xml: Path, tokenizer: GemmaTokenizer, texts: list[str], threads: int,
          precision: str = "bf16") -> tuple[np.ndarray, float]:
    """Unit vectors of ``texts`` through the graph, and sentences/s (batches of 4 by length, as at ingest)."""
    runner = OpenVINORunner(xml, precision=precision, threads=threads)
    enc = tokenizer.encode(texts)
    out = np.zeros((len(texts), 768), np.float32)
    t = time.perf_counter()
    for rows in by_length(enc, 4):
        v = runner(*padded(enc, rows))
        out[rows] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out, len(texts) / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, out=ROOT / "runs" / "int8_graphs.json")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--calibration", type=int, default=300, help="calibration sentences (training text)")
    ap.add_argument("--sentences", type=int, default=240, help="dev sentences to compare on")
    ap.add_argument("--threads", type=int, default=1, help="inference threads of both graphs")
    args = ap.parse_args(argv)
    data = shared_data(args.data, need="train")
    hide_telemetry_modules()  # before nncf imports openvino's telemetry (assistant/telemetry.py)
    settings = Settings()
    graphs = sorted((settings.paths.models / "openvino").glob("*/sentence-f16.xml"))
    if not graphs:
        print("skipped: no OpenVINO sentence graph yet; run `assistant models fetch` and one question first",
              file=sys.stderr)
        return 0
    tokenizer = GemmaTokenizer(gemma_path(settings.paths.models))
    calibration = sentences(data, CALIBRATION, args.calibration, 1)
    dev = sentences(data, DEV, args.sentences, 2)
    results = []
    with tempfile.TemporaryDirectory(prefix="int8-") as tmp:
        for name in args.variants:
            xml = Path(tmp) / f"sentence-int8-{name}.xml"
            took = quantize(graphs[0], tokenizer, calibration, VARIANTS[name], xml)
            base, base_sps = embed(graphs[0], tokenizer, dev, args.threads)  # bf16 again each time: the same minutes
            q, q_sps = embed(xml, tokenizer, dev, args.threads, "int8" if VARIANTS[name] is None else "bf16")
            cos = np.sum(base * q, axis=1)
            row = {"variant": name, "quantize_s": round(took), "bf16_sps": round(base_sps, 1), "int8_sps": round(q_sps, 1),
                   "ratio": round(q_sps / base_sps, 2), "cos_mean": round(float(cos.mean()), 5),
                   "cos_min": round(float(cos.min()), 5)}
            results.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{len(dev)} dev sentences, {args.threads} thread(s); calibration: {len(calibration)} training sentences")
    print("| variant | bf16 s/s | int8 s/s | ratio | cos mean | cos min |\n|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['variant']} | {r['bf16_sps']} | {r['int8_sps']} | {r['ratio']}x | {r['cos_mean']} | {r['cos_min']} |")
    write_result(args.out, settings, args, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
