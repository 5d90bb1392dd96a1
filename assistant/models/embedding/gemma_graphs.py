"""EmbeddingGemma as OpenVINO graphs, built once from the torch model (this module needs torch).

Two graphs, both with inputs ``input_ids`` and ``attention_mask`` (int64, batch × tokens, any size):

- the **sentence graph**: the transformer, mean pooling over real tokens, the two dense layers and L2
  normalization: exactly what sentence-transformers computes, in one graph (output ``embedding``);
- the **states graph**: the transformer with a span reader's LoRA adapter merged, returning the hidden
  states the reader's head reads (``LAYERS`` concatenated; output ``states``).

The graphs are traced from our own module rather than exported by optimum-intel: that exporter treats
Gemma as a causal decoder and gives wrong vectors (cosine 0.43 to torch). EmbeddingGemma's attention is
bidirectional; the masks are made here, as the model's own code makes them (every real token sees every
real token; the sliding-window layers see those fewer than ``sliding_window`` positions away), and handed
to the model ready-made, so no mask code is traced. A padding row sees itself (else it sees nothing and
turns into NaN, which mean pooling would carry through ``0 × NaN``).

Built by :func:`build_graphs` at ``assistant models fetch`` or on first use, into a folder keyed by what
changes the graphs (see openvino_runtime.graph_dir).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from assistant.telemetry import hide_telemetry_modules

__all__ = ["build_sentence_graph", "build_states_graph", "GRAPH_VERSION"]

GRAPH_VERSION = "1"  # bump when the traced modules change: the cached graphs are rebuilt


def _modules() -> tuple[Any, Any]:
    import torch

    def masks(transformer: Any, input_ids: Any, attention_mask: Any) -> dict[str, Any]:
        n = input_ids.shape[1]
        pos = torch.arange(n)
        keys = attention_mask[:, None, None, :].bool().expand(-1, 1, n, n)
        own = torch.eye(n, dtype=torch.bool)
        window = (pos[:, None] - pos[None, :]).abs() < transformer.config.sliding_window
        return {"full_attention": keys | own, "sliding_attention": (keys & window) | own}

    class SentenceGraph(torch.nn.Module):
        def __init__(self, st: Any):
            super().__init__()
            self.transformer = st[0].auto_model
            self.dense = torch.nn.ModuleList([m for m in list(st)[2:] if hasattr(m, "linear")])

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            h = self.transformer(input_ids=input_ids, attention_mask=masks(self.transformer, input_ids,
                                                                          attention_mask)).last_hidden_state
            real = attention_mask.unsqueeze(-1) > 0
            pooled = torch.where(real, h, 0.0).sum(1) / real.sum(1).clamp(min=1).to(h.dtype)
            for d in self.dense:
                pooled = d({"sentence_embedding": pooled})["sentence_embedding"]
            return torch.nn.functional.normalize(pooled, dim=-1)

    class StatesGraph(torch.nn.Module):
        def __init__(self, st: Any, layers: tuple[int, ...]):
            super().__init__()
            self.transformer = st[0].auto_model
            self.layers = layers

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            out = self.transformer(input_ids=input_ids, attention_mask=masks(self.transformer, input_ids, attention_mask),
                                   output_hidden_states=True)
            return torch.cat([out.hidden_states[i] for i in self.layers], dim=-1)

    return SentenceGraph, StatesGraph


def _check_layout(st: Any) -> None:
    from assistant.errors import EmbeddingError

    names = [type(m).__name__ for m in st]
    pooling = getattr(st[1], "pooling_mode", None) or ("mean" if getattr(st[1], "pooling_mode_mean_tokens", False) else "")
    if names[:2] != ["Transformer", "Pooling"] or names[-1] != "Normalize" or pooling != "mean":
        raise EmbeddingError(f"the OpenVINO runtime knows EmbeddingGemma's layout (Transformer, mean Pooling, Dense, "
                             f"Normalize), not {names}; set embedding.runtime = 'torch'")


def _convert(module: Any, out_name: str, dest: Path, half: bool) -> None:
    hide_telemetry_modules()  # convert_model reports to openvino's telemetry otherwise (assistant/telemetry.py)
    import openvino as ov
    import torch

    example = {"input_ids": torch.tensor([[2, 3250, 236787, 1]] * 2), "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks, none of which we rely on
        graph = ov.convert_model(module.eval(), example_input=example,
                                 input=[("input_ids", [-1, -1], ov.Type.i64), ("attention_mask", [-1, -1], ov.Type.i64)])
    graph.outputs[0].get_tensor().set_names({out_name})
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.stem}.tmp{os.getpid()}.xml")  # two processes may build at once
    ov.save_model(graph, str(tmp), compress_to_fp16=half)
    tmp.with_suffix(".bin").replace(dest.with_suffix(".bin"))
    tmp.replace(dest)  # the .xml last: its presence means the pair is complete


def build_sentence_graph(st: Any, dest: Path, *, half: bool) -> None:
    """Trace the sentence-transformers model ``st`` (EmbeddingGemma, adapter merged) into ``dest`` (.xml);
    ``half``: weights stored as float16 (for bf16 inference: half the disk, memory and load time)."""
    _check_layout(st)
    sentence_graph, _ = _modules()
    _convert(sentence_graph(st), "embedding", dest, half)


def build_states_graph(st: Any, lora: dict[str, np.ndarray], layers: tuple[int, ...], dest: Path, *, half: bool) -> None:
    """Trace ``st``'s transformer with the LoRA ``lora`` merged (in place: ``st`` is spent afterwards) into
    ``dest``: the hidden states ``layers``, concatenated."""
    from assistant.models.lora import Adapter, merge_adapter

    _check_layout(st)
    if lora:
        merge_adapter(st[0].auto_model, Adapter(dest, lora, {}))
    _, states_graph = _modules()
    _convert(states_graph(st, layers), "states", dest, half)
