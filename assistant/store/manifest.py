"""The manifest beside an index: what built it. An index built differently is refused, never mixed."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.errors import IndexCorruptError, IndexMismatchError

__all__ = ["Manifest", "FORMAT_VERSION", "TOKENIZER_VERSION"]

FORMAT_VERSION = 1
TOKENIZER_VERSION = "1"


@dataclass(frozen=True)
class Manifest:
    format_version: int
    embedding_model: str
    embedding_dim: int
    splitter_version: str
    tokenizer_version: str
    chunk_max_sentences: int
    chunk_max_chars: int
    max_sentence_chars: int
    # SHA-256 of the embedding model's pinned files (assistant/models/verify.py); None for a model without
    # pins, and in indexes built before it was recorded. Compared only when both sides have one.
    embedding_digest: str | None = None

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as e:
            raise IndexCorruptError(
                f"{path} is unreadable ({e}); delete the index folder and ingest again"
            ) from e

    def check_compatible(self, wanted: Manifest, index_dir: Path | str, index_arg: str | None = None) -> None:
        """Raise IndexMismatchError naming every difference and how to rebuild."""
        diffs = [
            f"{k}: index has {v!r}, settings give {getattr(wanted, k)!r}"
            for k, v in asdict(self).items()
            if v != getattr(wanted, k) and not (k == "embedding_digest" and (v is None or wanted.embedding_digest is None))
        ]
        if diffs:
            raise IndexMismatchError(
                f"the index at {index_dir} was built differently ({'; '.join(diffs)}). Open it with the "
                f"settings it was built with, or rebuild it with the current ones: "
                f"`assistant rebuild --index {index_arg or index_dir}` (Assistant.open(..., rebuild=True)); its articles are kept."
            )
