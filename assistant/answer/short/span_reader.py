"""A trained span reader on the embedding model: the shortest words of a sentence that answer a question.

EmbeddingGemma's attention is bidirectional, so the token states of ``question + sentence`` read one in
the light of the other. A small head (two layers, trained by ``tools/train_span_reader.py`` on TyDi QA
Arabic, the model itself frozen) scores every token of the sentence as the start and as the end of the
answer, and the first token (the null) as "this sentence does not answer it". No LLM: the reader runs the
embedder's own weights with its own small adapter (on torch, switched on the shared model; on OpenVINO, a
second graph with the adapter merged), one forward pass per candidate sentence.

The head ships in the package (``assistant/models/readers/<name>.npz``) with a JSON card naming the model
id it was trained on; a reader is refused on another model (its token states would mean nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigError
from assistant.models.embedding.protocol import Embedder, StatesSpec, TokenStatesEmbedder
from assistant.resources import shipped

__all__ = ["PairFeatures", "SpanReader", "SpanGuess", "ReaderHead", "featurize", "tokenize_pairs", "hidden_states",
           "reader_path", "pair_text", "sentence_spans", "LAYERS", "LORA_PREFIX"]

LAYERS = (-1, -7)  # hidden states the head reads: the last layer and one six layers below it
_PREFIX = "task: question answering | query: "
_SEP = " | text: "
MAX_TOKENS = 192
LORA_PREFIX = "lora/"  # keys of the reader's own adapter in its .npz (absent: the model is used as it is)


def pair_text(question: str, sentence: str) -> tuple[str, int]:
    """The model input for one (question, sentence) pair and where the sentence starts in it."""
    head = f"{_PREFIX}{question.strip()}{_SEP}"
    return head + sentence, len(head)


@dataclass
class PairFeatures:
    """Token states of one pair: ``states`` (tokens × features) and, per token, the code-point range of
    the sentence it covers (``-1, -1`` for tokens outside the sentence; token 0 is the null)."""

    states: np.ndarray
    spans: np.ndarray  # (tokens, 2) int, offsets into the sentence


def tokenize_pairs(tokenizer: Any, pairs: list[tuple[str, str]]) -> tuple[dict[str, Any], list[np.ndarray], list[np.ndarray]]:
    """The tokenizer's batch for ``pairs`` and, per pair, the indices of its real tokens and, for each of
    them, the code-point range of the sentence it covers (``-1, -1`` outside the sentence)."""
    texts, starts = zip(*(pair_text(q, s) for q, s in pairs))
    enc = tokenizer(list(texts), return_tensors="pt", return_offsets_mapping=True, padding=True,
                    truncation=True, max_length=MAX_TOKENS)
    offsets = enc.pop("offset_mapping").numpy()
    mask = enc["attention_mask"].numpy().astype(bool)
    all_idx, all_spans = [], []
    for b, (start, (_, sentence)) in enumerate(zip(starts, pairs)):
        idx = np.flatnonzero(mask[b])  # the real tokens, whichever side the tokenizer pads
        all_idx.append(idx)
        all_spans.append(sentence_spans(offsets[b, idx], start, len(sentence)))
    return dict(enc), all_idx, all_spans


def sentence_spans(offsets: np.ndarray, start: int, length: int) -> np.ndarray:
    """Per token (its code-point range in the pair text), the range of the sentence it covers: the
    sentence starts at ``start`` of the pair text and is ``length`` long; ``-1, -1`` outside it."""
    spans = np.full((len(offsets), 2), -1, dtype=np.int64)
    for t, (lo, hi) in enumerate(np.asarray(offsets, dtype=np.int64) - start):
        if hi > 0 and lo < length and hi > lo:
            spans[t] = (max(lo, 0), min(hi, length))
    return spans


def hidden_states(model: Any, enc: dict[str, Any], *, bf16: bool = True) -> Any:
    """The hidden states the head reads (the :data:`LAYERS`, concatenated), a float32 torch tensor
    (batch × tokens × features); differentiable unless called under ``torch.inference_mode``."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = model(**enc, output_hidden_states=True)
    return torch.cat([out.hidden_states[i].float() for i in LAYERS], dim=-1)


def featurize(model: Any, tokenizer: Any, pairs: list[tuple[str, str]], *, bf16: bool = True) -> list[PairFeatures]:
    """Run the transformer once over a batch of (question, sentence) pairs."""
    import torch

    if not pairs:
        return []
    enc, all_idx, all_spans = tokenize_pairs(tokenizer, pairs)
    with torch.inference_mode():
        hidden = hidden_states(model, enc, bf16=bf16).numpy()
    return [PairFeatures(states=hidden[b, idx].astype(np.float32), spans=spans)
            for b, (idx, spans) in enumerate(zip(all_idx, all_spans))]


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))


class ReaderHead:
    """The trained head in numpy: token states → (start, end) logits. Same arithmetic as the torch module of
    tools/train_span_reader.py: layer norm, a dense layer with GELU, then each token sees its neighbours."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.a = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}

    def logits(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = self.a
        x = (states - a["mu"]) / a["sd"]
        z = _gelu(x @ a["w1"] + a["b1"])
        zp = np.pad(z, ((1, 1), (0, 0)))
        ctx = np.concatenate([zp[:-2], z, zp[2:]], axis=1)
        out = ctx @ a["w2"] + a["b2"]
        return out[:, 0], out[:, 1]


def reader_path(name: str) -> Path:
    """The shipped head called ``name`` (assistant/models/readers/<name>.npz)."""
    return shipped("models/readers") / f"{name}.npz"


@dataclass(frozen=True)
class SpanGuess:
    start: int  # code points into the sentence
    end: int
    score: float  # best span logit minus the null logit
    prob: float  # softmax share of the best span among spans and null


class SpanReader:
    """Best answer span of a sentence for a question, from the embedder's transformer and a trained head."""

    def __init__(self, embedder: TokenStatesEmbedder, spec: StatesSpec, head: ReaderHead, *, max_span_tokens: int = 16,
                 card: dict | None = None):
        self.embedder, self.spec, self.head = embedder, spec, head
        self.card = card or {}  # the shipped reader's JSON card (model id, training, min_confidence)
        self.max_span_tokens = max_span_tokens

    @classmethod
    def load(cls, embedder: Embedder, name: str, model_id: str) -> SpanReader:
        """The shipped reader ``name`` on ``embedder`` (the gemma backend's, whose ``model_id`` is the one
        the head was trained on; the embedder gives the token states: ``token_states``)."""
        path = reader_path(name)
        if not path.exists():
            raise ConfigError(f"no span reader called {name!r} (looked for {path}); answer.short_reader lists them")
        card = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if card.get("model_id") != model_id:
            raise ConfigError(
                f"the span reader {name!r} was trained on {card.get('model_id')!r}, not on the embedding model "
                f"{model_id!r}; use the default embedding model or answer.short_producer = 'rules'"
            )
        if not isinstance(embedder, TokenStatesEmbedder):
            raise ConfigError("the span reader needs the default embedder (EmbeddingGemma on OpenVINO or torch)")
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        head = ReaderHead({k: v for k, v in arrays.items() if not k.startswith(LORA_PREFIX)})
        # the reader's own adapter: switched on only while it reads (torch) or merged into its own graph
        # (OpenVINO); either way the embedder's vectors stay the same
        lora = {k[len(LORA_PREFIX):]: v for k, v in arrays.items() if k.startswith(LORA_PREFIX)}
        spec = StatesSpec(path, lora, LAYERS, MAX_TOKENS)
        embedder.prepare_states(spec)  # OpenVINO: its graph loads in the background from now
        return cls(embedder, spec, head, card=card)

    def guesses(self, question: str, sentences: list[str]) -> list[SpanGuess | None]:
        """For each sentence, its best span (None when the sentence has no token to answer with)."""
        if not sentences:
            return []
        texts, starts = zip(*(pair_text(question, s) for s in sentences))
        states = self.embedder.token_states(list(texts), self.spec)
        feats = [PairFeatures(t.states, sentence_spans(t.offsets, start, len(s)))
                 for t, start, s in zip(states, starts, sentences)]
        return [self.best_span(f) for f in feats]

    def best_span(self, f: PairFeatures) -> SpanGuess | None:
        """The best span of one (question, sentence) pair's features, None when the sentence has no token."""
        start_l, end_l = self.head.logits(f.states)
        inside = np.flatnonzero(f.spans[:, 0] >= 0)
        if inside.size == 0:
            return None
        null = float(start_l[0] + end_l[0])
        best, bi, bj = -np.inf, -1, -1
        for i in inside:
            js = inside[(inside >= i) & (inside < i + self.max_span_tokens)]
            j = js[int(np.argmax(end_l[js]))]
            s = float(start_l[i] + end_l[j])
            if s > best:
                best, bi, bj = s, int(i), int(j)
        # probability mass of the best span against the null and all spans (log-sum-exp over start × end)
        ls = np.concatenate([[start_l[0]], start_l[inside]])
        le = np.concatenate([[end_l[0]], end_l[inside]])
        total = np.logaddexp.reduce(ls) + np.logaddexp.reduce(le)
        prob = float(np.exp(best - total))
        return SpanGuess(start=int(f.spans[bi, 0]), end=int(f.spans[bj, 1]), score=best - null, prob=prob)
