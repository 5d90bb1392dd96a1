"""EmbeddingGemma on OpenVINO: the same model, 3.3-3.7× torch's sentences/s on this CPU (queries 29 ms
instead of 88), and no torch on the query path (bench/embedder_runtime.py).

The graphs (gemma_graphs.py) are traced once from the torch model and kept under
``<paths.models>/openvino/<model>-<key>/``, ``key`` hashing what changes them: the model id (adapter digest
included), the weights file's size, the graph version and OpenVINO's version. OpenVINO compiles them for
this CPU with bf16 inference where the CPU has it (AVX-512 BF16 or AMX; else f32) and caches the compiled
blob beside them, so a second start loads in about a second.

What is fast here (measured on 160 XQuAD Arabic sentences, 2 threads): sentences sorted by length and run
a few at a time (``MICRO_BATCH``), since a batch pads every sentence to its longest; bf16 matmuls. An
ingest's documents run on a second compilation of the graph with ``embedding.ingest_streams`` streams (two
micro-batches at once, a thread each: 25.6 vs 21.6 sentences/s on 600 dev sentences, the graph alone;
1.08x through ``Assistant.add``); questions keep the latency one (both threads on one request). Vectors
differ from torch fp32 by cosine ≥ 0.999 (min 0.9997 on 320 dev sentences), so the runtime and precision
are part of the vectors' id (:attr:`OpenVINORunner.tag`), and an index built by one runtime is not mixed
with vectors of another (store/manifest.py).
"""

from __future__ import annotations

import hashlib
import locale
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import EmbeddingError
from assistant.models.embedding.protocol import StatesSpec
from assistant.telemetry import hide_telemetry_modules

__all__ = ["GemmaTokenizer", "OpenVINORunner", "graph_dir", "sentence_graph", "states_graph", "MICRO_BATCH",
           "openvino_available", "padded", "by_length", "effective_precision"]

MICRO_BATCH = 4  # sentences per inference call: fewer pad tokens; the best of 1/2/4/8/16/32/64 measured here
MAX_TOKENS = 2048  # sentence-transformers' max_seq_length for EmbeddingGemma


def openvino_available() -> bool:
    hide_telemetry_modules()
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def effective_precision(precision: str) -> str:
    """What ``precision`` becomes on this CPU, as vectors are tagged with it (``openvino-<this>``): bf16 only
    where OpenVINO says the CPU has it; int8 as asked, with its recipe (int8.py: another recipe, other
    vectors; its graph's other operations run in bf16 where the CPU has it)."""
    if precision == "int8":
        from assistant.models.embedding.int8 import RECIPE

        return f"int8-{RECIPE}"
    if precision != "bf16":
        return "f32"
    caps = _openvino().Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bf16" if "BF16" in caps else "f32"


def _openvino() -> Any:
    hide_telemetry_modules()  # openvino's own telemetry reports every import (assistant/telemetry.py)
    try:
        import openvino as ov
    except ImportError as e:
        raise EmbeddingError("embedding.runtime is 'openvino' but the openvino package is missing: "
                             "`pip install openvino`, or set embedding.runtime = 'torch'") from e
    return ov


def graph_dir(root: Path, model_path: Path, model_id: str) -> Path:
    """Where under ``root`` the graphs of ``model_id`` (the model folder ``model_path``, adapter merged) are kept."""
    from assistant.models.embedding.gemma_graphs import GRAPH_VERSION

    weights = model_path / "model.safetensors"
    size = weights.stat().st_size if weights.exists() else 0
    key = hashlib.sha256(f"{model_id}\x00{size}\x00{GRAPH_VERSION}\x00{_openvino().__version__}".encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model_path.name)[:40]
    return root / f"{slug}-{key}"


def _load_torch_model(model_path: Path, adapter: Path | None) -> Any:
    """The torch model the graphs are traced from (the adapter merged, as the torch embedder serves it)."""
    from assistant.models.embedding.st_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(str(model_path), adapter=adapter).model


def sentence_graph(graphs: Path, model_path: Path, model_id: str, adapter: Path | None, precision: str) -> Path:
    """The sentence graph's .xml in ``graphs`` (:func:`graph_dir`) for ``precision`` inference (float16
    weights for bf16, int8 ones made from those for int8), traced now if it is not there yet."""
    from assistant.models.embedding.gemma_graphs import build_sentence_graph

    if precision == "int8":
        base = sentence_graph(graphs, model_path, model_id, adapter, "bf16")
        return _int8(base, f"the int8 OpenVINO graph of {model_id}", "embedding.precision")
    xml = graphs / f"sentence-{_weights(precision)}.xml"
    return _built(xml, f"the OpenVINO graph of {model_id}", lambda: build_sentence_graph(
        _load_torch_model(model_path, adapter), xml, half=_weights(precision) == "f16"))


def states_graph(graphs: Path, model_path: Path, adapter: Path | None, spec: StatesSpec, precision: str) -> Path:
    """The states graph of ``spec`` (a span reader's token states, its LoRA merged) in ``graphs`` for
    ``precision`` inference, traced (and for int8 compressed) now if it is not there yet."""
    from assistant.models.embedding.gemma_graphs import build_states_graph

    if precision == "int8":
        base = states_graph(graphs, model_path, adapter, spec, "bf16")
        return _int8(base, f"the int8 OpenVINO graph of the span reader {spec.source.stem}", "embedding.reader_precision")
    name = spec.source.stem
    xml = graphs / f"reader-{name}-{spec.digest[:12]}-{_weights(precision)}.xml"
    return _built(xml, f"the OpenVINO graph of the span reader {name}", lambda: build_states_graph(
        _load_torch_model(model_path, adapter), spec.lora, spec.layers, xml, half=_weights(precision) == "f16"))


def _int8(f16_xml: Path, what: str, setting: str) -> Path:
    """The int8 graph made from ``f16_xml`` (assistant/models/embedding/int8.py), beside it; ``setting``
    asked for it."""
    from assistant.models.embedding.int8 import RECIPE, compress_graph

    xml = f16_xml.with_name(f"{f16_xml.stem.removesuffix('-f16')}-int8-{RECIPE}.xml")
    return _built(xml, what, lambda: compress_graph(f16_xml, xml, setting=setting), takes="seconds; needs nncf")


def _weights(precision: str) -> str:
    """How a graph for ``precision`` inference stores its weights: float16 for bf16 (bf16 keeps fewer
    mantissa bits than float16, so nothing is lost; cosine to the float32 weights' vectors ≥ 0.999),
    float32 for f32 (int8 graphs are made from the float16 ones)."""
    return "f32" if precision == "f32" else "f16"


_BUILDING = threading.Lock()  # torch's tracer is not thread-safe: one graph is traced at a time in a process


def _built(xml: Path, what: str, build: Any, *, takes: str = "about a minute; needs torch") -> Path:
    if not xml.exists():
        with _BUILDING:
            if not xml.exists():
                print(f"building {what} once ({takes}) ...", file=sys.stderr, flush=True)
                build()
    return xml


class _KeepLocale:
    """OpenVINO (2025/2026 wheels) sets the process's locale to "C" while it loads a compiled blob from its
    cache and then restores what it saw: two compilations at once (the embedder loads in a thread while the
    reader compiles) can leave "C" for good, and Python's default encoding becomes ASCII for the whole
    process (a subprocess's Arabic output, ``open()`` without an encoding: UnicodeDecodeError). 40 runs in
    40 of two threads compiling at once left "C" (tests/test_openvino_runtime.py). The locale seen when no
    compilation is running is put back when the last one ends; compilations still run at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._saved = ""

    def __enter__(self) -> None:
        with self._lock:
            if not self._running:
                self._saved = locale.setlocale(locale.LC_ALL)
            self._running += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._running -= 1
            if not self._running and locale.setlocale(locale.LC_ALL) != self._saved:
                locale.setlocale(locale.LC_ALL, self._saved)


_KEEP_LOCALE = _KeepLocale()


class OpenVINORunner:
    """One compiled graph, for latency (one request on every thread) or, with ``streams``, for throughput.
    Not thread-safe: the caller takes turns around :meth:`__call__` and :meth:`run_all`."""

    def __init__(self, xml: Path, *, precision: str = "bf16", threads: int | None = None, streams: int = 1):
        ov = _openvino()
        core = ov.Core()
        core.set_property({"CACHE_DIR": str(xml.parent / "compiled")})
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "int8" else precision,
                                  "INFERENCE_NUM_THREADS": int(threads or os.cpu_count() or 1)}
        if precision == "int8":  # activations quantized per token as the graph runs (int8.py)
            from assistant.models.embedding.int8 import DYNAMIC_GROUP

            config["DYNAMIC_QUANTIZATION_GROUP_SIZE"] = DYNAMIC_GROUP
        if streams > 1:  # for throughput: ``streams`` requests at once, the threads shared out among them
            config["NUM_STREAMS"] = streams
        else:
            config["PERFORMANCE_HINT"] = "LATENCY"
        self.streams = streams
        self._queue: Any = None
        try:
            with _KEEP_LOCALE:
                self._compiled = core.compile_model(str(xml), "CPU", config)
        except RuntimeError as e:
            raise EmbeddingError(f"OpenVINO cannot compile {xml} ({e}); delete {xml.parent} to rebuild it, or set "
                                 "embedding.runtime = 'torch'") from e
        self._request = self._compiled.create_infer_request()
        got = str(self._compiled.get_property("INFERENCE_PRECISION_HINT"))
        self.precision = "bf16" if "bf" in got.lower() else "f32"  # what the CPU gave, not what was asked
        self.tag = f"openvino-{effective_precision('int8')}" if precision == "int8" else f"openvino-{self.precision}"

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self._request.infer({"input_ids": ids, "attention_mask": mask})
        return np.asarray(next(iter(out.values())), dtype=np.float32)

    def run_all(self, inputs: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """The output of every (input_ids, attention_mask), in order, ``streams`` of them running at once."""
        if self.streams == 1:
            return [self(ids, mask) for ids, mask in inputs]
        if self._queue is None:
            self._queue = _openvino().AsyncInferQueue(self._compiled, self.streams)
        out: list[np.ndarray] = [np.empty(0)] * len(inputs)
        failed: list[BaseException] = []

        def done(request: Any, i: int) -> None:  # an exception here would stay in the queue for good: kept, raised below
            try:
                out[i] = np.array(request.get_output_tensor(0).data, dtype=np.float32)  # a copy: the request is reused
            except BaseException as e:  # noqa: BLE001
                failed.append(e)

        self._queue.set_callback(done)
        try:
            for i, (ids, mask) in enumerate(inputs):
                self._queue.start_async({"input_ids": ids, "attention_mask": mask}, i)
            self._queue.wait_all()
        except BaseException:
            self._queue = None  # a new queue next time
            raise
        if failed:
            raise EmbeddingError(f"OpenVINO's output could not be read ({failed[0]!r})") from failed[0]
        return out


class GemmaTokenizer:
    """EmbeddingGemma's tokenizer through SentencePiece (``tokenizer.model``): the same ids and offsets as the
    model's fast tokenizer (tokenizer.json; a slow test checks it on the dev sets' texts), loaded in 0.1 s
    instead of 1.3 s, with no transformers and no torch. ``<bos>`` and ``<eos>`` around each text, which is
    cut, as sentence-transformers cuts it, at ``max_tokens`` tokens in all."""

    def __init__(self, model_path: Path):
        import sentencepiece

        path = model_path / "tokenizer.model"
        if not path.exists():
            raise EmbeddingError(f"{path} is missing: the OpenVINO runtime reads EmbeddingGemma's SentencePiece model; "
                                 "fetch the model again (`assistant models fetch`) or set embedding.runtime = 'torch'")
        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
        self._bos, self._eos = self._sp.bos_id(), self._sp.eos_id()

    def encode(self, texts: list[str], max_tokens: int = MAX_TOKENS) -> list[list[int]]:
        return [[self._bos, *ids[: max_tokens - 2], self._eos] for ids in self._sp.encode(texts)]

    def encode_with_offsets(self, texts: list[str], max_tokens: int) -> list[tuple[list[int], np.ndarray]]:
        """Ids and, per token, its code-point range in the text (``0, 0`` for ``<bos>``/``<eos>``). A character
        that falls back to byte tokens gives each of them the character's range, as the fast tokenizer does."""
        out = []
        for text in texts:
            pieces = self._sp.encode(text, out_type="proto").pieces[: max_tokens - 2]
            char_at = _char_of_byte(text)
            offsets = np.zeros((len(pieces) + 2, 2), dtype=np.int64)
            for i, p in enumerate(pieces, 1):
                lo = int(char_at[p.begin])
                offsets[i] = (lo, int(char_at[p.end]) if p.end > p.begin else lo + 1)
            out.append(([self._bos, *(p.id for p in pieces), self._eos], offsets))
        return out


def _char_of_byte(text: str) -> np.ndarray:
    """For each UTF-8 byte offset of ``text`` (and its end), the code point it belongs to."""
    sizes = np.frombuffer(bytes(len(c.encode("utf-8")) for c in text), dtype=np.uint8) if text else np.zeros(0, np.uint8)
    return np.append(np.repeat(np.arange(len(text), dtype=np.int64), sizes), len(text))


def padded(encodings: list[list[int]], rows: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``input_ids`` and ``attention_mask`` of the encodings ``rows``, padded on the right."""
    n = max(len(encodings[r]) for r in rows)
    ids = np.zeros((len(rows), n), dtype=np.int64)
    mask = np.zeros((len(rows), n), dtype=np.int64)
    for i, r in enumerate(rows):
        k = len(encodings[r])
        ids[i, :k] = encodings[r]
        mask[i, :k] = 1
    return ids, mask


def by_length(encodings: list[list[int]], size: int = MICRO_BATCH) -> list[np.ndarray]:
    """Row groups of at most ``size``, of similar lengths (sorted), so little is padding."""
    order = np.argsort([len(e) for e in encodings], kind="stable")
    return [order[i:i + size] for i in range(0, len(order), size)]
