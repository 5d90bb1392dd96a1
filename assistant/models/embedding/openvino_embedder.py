"""EmbeddingGemma on OpenVINO: the gemma backend's embedder when openvino is installed (the default).

The same prompts, title frame and memo as the torch embedder (framed.FramedEmbedder); the graphs and
tokenizer of openvino_runtime.py underneath. The model loads in a background thread from the moment the
embedder is made, so an index opens (and a web page is served) while it loads; the first embedding waits
for it (:attr:`ready` tells whether it has to).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import EmbeddingError
from assistant.models.embedding import openvino_runtime as ovr
from assistant.models.embedding.framed import FramedEmbedder
from assistant.models.embedding.protocol import StatesSpec, TokenStates

__all__ = ["OpenVINOEmbedder"]

log = logging.getLogger(__name__)


class _Loading:
    """A value made in a thread; :meth:`get` waits for it and raises what making it raised. Not a daemon
    thread: a process that exits while OpenVINO compiles (a CLI command failing at once) waits for it;
    torn down inside OpenVINO's C++ it would abort ("terminate called without an active exception")."""

    def __init__(self, make: Any):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(make,), daemon=False, name="model-loading")
        self._thread.start()

    def _run(self, make: Any) -> None:
        try:
            self._value = make()
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits
            self._error = e

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def get(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


class OpenVINOEmbedder(FramedEmbedder):
    """EmbeddingGemma (``model_path``, the adapter already named in ``model_id``) on OpenVINO; its graphs are
    kept under ``graphs_dir`` (``<paths.models>/openvino``)."""

    def __init__(self, model_path: Path, model_id: str, *, graphs_dir: Path, adapter: Path | None = None,
                 precision: str = "bf16", reader_precision: str = "int8", threads: int | None = None,
                 batch_size: int = 32, memo_size: int = 20000,
                 weights_digest: str | None = None, ingest_streams: int = 2):
        self._path, self._name, self._adapter = model_path, model_id, adapter
        self._graphs = ovr.graph_dir(graphs_dir, model_path, model_id)
        self.weights_digest = weights_digest
        self._threads, self._precision, self._ingest_streams = threads, precision, ingest_streams
        self._reader_precision = reader_precision
        config = json.loads((model_path / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        self._frame(config.get("prompts") or {}, None, None, batch_size, memo_size)
        self.model_id = f"sentence-transformers/{model_id}" + ("+title" if self._titled else "")
        self.dim = _output_dim(model_path)
        self.runtime = f"openvino-{ovr.effective_precision(precision)}"  # what the graph will run in
        self._readers: dict[Path, _Loading] = {}
        self._ingest_graph: _Loading | None = None  # the graph compiled for throughput, at the first ingest
        self._tokenizer = ovr.GemmaTokenizer(model_path)
        self._sentences = _Loading(self._load)

    def _load(self, streams: int = 1) -> ovr.OpenVINORunner:
        runner = ovr.OpenVINORunner(ovr.sentence_graph(self._graphs, self._path, self._name, self._adapter,
                                                        self._precision),
                                    precision=self._precision, threads=self._threads, streams=streams)
        if runner.tag != self.runtime:
            raise EmbeddingError(f"OpenVINO compiled the model for {runner.tag}, not {self.runtime}; set "
                                 "embedding.precision = 'f32'")
        runner(*ovr.padded([self._tokenizer.encode(["x"])[0]], [0]))  # the first inference allocates
        return runner

    @property
    def ready(self) -> bool:
        """Whether the model and the states graphs asked for have loaded (using them now would not wait)."""
        return self._sentences.done and all(loading.done for loading in list(self._readers.values()))

    def wait(self) -> None:
        """Wait for the model and the states graphs asked for so far (raises what loading them raised)."""
        self._sentences.get()
        for loading in list(self._readers.values()):
            loading.get()

    @property
    def vector_id(self) -> str:
        return f"{self.model_id}@{self.runtime}"

    @staticmethod
    def _run(runner: Any, encodings: list[list[int]], *, per_token: bool) -> list[np.ndarray]:
        """``runner`` over ``encodings`` in length-sorted micro-batches (as many at once as it has streams);
        per text its row (or, ``per_token``, the rows of its real tokens)."""
        out: list[np.ndarray] = [np.empty(0)] * len(encodings)
        groups = ovr.by_length(encodings)
        for rows, result in zip(groups, runner.run_all([ovr.padded(encodings, rows) for rows in groups])):
            for i, r in enumerate(rows):
                out[r] = result[i, : len(encodings[r])] if per_token else result[i]
        return out

    def _forward(self, texts: list[str], ingest: bool = False) -> np.ndarray:
        runner = self._ingest_runner() if ingest else self._sentences.get()
        return np.stack(self._run(runner, self._tokenizer.encode(texts), per_token=False))

    def _prepare_ingest(self) -> None:
        self._ingest_runner()

    def _ingest_runner(self) -> ovr.OpenVINORunner:
        """The sentence graph compiled for an ingest's throughput (``embedding.ingest_streams`` streams), made
        at the first ingest; with one stream or one thread, or if it cannot be compiled, the question graph."""
        latency = self._sentences.get()
        streams = min(self._ingest_streams, int(self._threads or os.cpu_count() or 1))
        if streams < 2:
            return latency
        with self._lock:
            if self._ingest_graph is None:
                self._ingest_graph = _Loading(lambda: self._load(streams))
        try:
            return self._ingest_graph.get()
        except Exception as e:  # noqa: BLE001 - the question graph serves instead, said once
            with self._lock:
                if self._ingest_graph is not None:
                    log.warning("the ingest graph (%s streams) could not be made (%s); ingesting on the question "
                                "graph (embedding.ingest_streams = 1 says so)", streams, e)
                    self._ingest_streams, self._ingest_graph = 1, None
            return latency

    def prepare_states(self, spec: StatesSpec) -> None:
        """Start loading the states graph of ``spec`` (built once, then compiled) in the background."""
        with self._lock:
            if spec.source not in self._readers:
                self._readers[spec.source] = _Loading(lambda: self._load_reader(spec))

    def _load_reader(self, spec: StatesSpec) -> ovr.OpenVINORunner:
        """The states graph of ``spec`` compiled in ``embedding.reader_precision``; when its int8 graph cannot
        be made (nncf missing), the float one, said once: short answers are not lost for a speed-up."""
        precision = self._reader_precision
        try:
            xml = ovr.states_graph(self._graphs, self._path, self._adapter, spec, precision)
        except EmbeddingError as e:
            if precision != "int8":
                raise
            precision = "f32" if self._precision == "f32" else "bf16"
            log.warning("%s; the span reader runs in %s", e, precision)
            xml = ovr.states_graph(self._graphs, self._path, self._adapter, spec, precision)
        return ovr.OpenVINORunner(xml, precision=precision, threads=self._threads)

    def token_states(self, texts: list[str], spec: StatesSpec) -> list[TokenStates]:
        """Hidden states of ``texts`` from the states graph of ``spec`` (its adapter merged)."""
        self.prepare_states(spec)
        runner = self._readers[spec.source].get()
        with self._turns.turn(urgent=True):  # part of answering a question
            encoded = self._tokenizer.encode_with_offsets(texts, spec.max_tokens)
            states = self._run(runner, [ids for ids, _ in encoded], per_token=True)
        return [TokenStates(s, offsets) for s, (_, offsets) in zip(states, encoded)]


def _output_dim(model_path: Path) -> int:
    """The width of the model's vectors: the last dense layer's ``out_features`` (no model run needed)."""
    modules = json.loads((model_path / "modules.json").read_text(encoding="utf-8"))
    for m in reversed(modules):
        cfg = model_path / m.get("path", "") / "config.json"
        if m.get("type", "").endswith("Dense") and cfg.exists():
            return int(json.loads(cfg.read_text(encoding="utf-8"))["out_features"])
    raise EmbeddingError(f"{model_path} has no dense layer config to read the vector width from; "
                         "set embedding.runtime = 'torch'")
