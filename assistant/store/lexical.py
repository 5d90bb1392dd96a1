"""BM25 over normalized Arabic/English tokens (bm25s), persisted beside the Chroma folder.

The index is rebuilt from the catalog's stored tokens after every change (bm25s indexes are static;
rebuilding from pre-tokenized text is fast) and stamped with the catalog generation it reflects, so a
crash between the catalog commit and the BM25 save is detected and repaired on open.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from assistant.store.catalog import Catalog
    from assistant.store.database import Transaction

__all__ = ["LexicalIndex", "LexicalFile", "EMPTY_TOKEN", "K1", "B"]

EMPTY_TOKEN = "\u2400"  # the token of a sentence with no searchable words
K1, B = 1.2, 0.75  # bm25s's BM25 ("lucene" idf); lexical_sql.py computes the same score in SQL


class LexicalIndex:
    """An immutable BM25 snapshot: build or load one, then query it from any thread."""

    def __init__(self, ids: list[str], article_of: list[str], model: Any, generation: int):
        self.ids = ids
        self.generation = generation
        self._model = model
        self._article_of = np.asarray(article_of, dtype=object)

    @classmethod
    def build(cls, rows: list[tuple[str, str, str]], generation: int) -> LexicalIndex:
        """Index ``(sentence id, article id, space-joined tokens)`` rows."""
        import bm25s

        if not rows:
            return cls([], [], None, generation)
        corpus = [(toks.split() or [EMPTY_TOKEN]) for _, _, toks in rows]
        model = bm25s.BM25(k1=K1, b=B)
        model.index(corpus, show_progress=False)
        return cls([r[0] for r in rows], [r[1] for r in rows], model, generation)

    def save(self, folder: Path) -> None:
        """Write atomically: a new folder is written beside, then swapped in."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._model is not None:
            self._model.save(str(tmp / "bm25"), show_progress=False)
        (tmp / "docs.json").write_text(
            json.dumps({"generation": self.generation, "ids": self.ids, "articles": self._article_of.tolist()}),
            encoding="utf-8",
        )
        with open(tmp / "docs.json", "rb") as f:
            os.fsync(f.fileno())
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        """The saved index, or None when it is missing or unreadable (the caller rebuilds)."""
        import bm25s

        try:
            meta = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
            model = bm25s.BM25.load(str(folder / "bm25"), show_progress=False) if meta["ids"] else None
        except (OSError, ValueError, KeyError):
            return None
        return cls(meta["ids"], meta["articles"], model, int(meta["generation"]))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, tokens: list[str], k: int, article_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (sentence id, BM25 score) with a positive score."""
        if self._model is None or not tokens or k <= 0:
            return []
        vocab = self._model.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return []
        scores = np.asarray(self._model.get_scores(known), dtype=np.float32)
        if article_ids is not None:
            scores = np.where(np.isin(self._article_of, list(article_ids)), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]


class LexicalFile:
    """The BM25 snapshot saved in one folder, and the newest one this process has loaded from it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.current: LexicalIndex | None = None
        self._stamp: tuple[int, int] | None = None

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.folder / "docs.json").stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def load_newer(self) -> LexicalIndex | None:
        """Load the saved snapshot when it is not the one in memory and is newer; the current one."""
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp:
            lex = LexicalIndex.load(self.folder)
            self._stamp = stamp
            if lex is not None and (self.current is None or lex.generation >= self.current.generation):
                self.current = lex
        return self.current

    def refresh(self, catalog: Catalog) -> None:
        """Rebuild from every sentence's stored tokens, stamped with the catalog's generation."""
        gen = catalog.generation()
        self.rebuild([r for batch in catalog.iter_sentence_rows("tokens") for r in batch], gen)

    @staticmethod
    def forget(tx: Transaction, article_id: str) -> None:
        """Nothing inside the transaction: the file is rebuilt after the batch (:meth:`refresh`)."""

    @staticmethod
    def put(tx: Transaction, article_id: str, sentence_ids: Sequence[str], tokens: Sequence[str]) -> None:
        """Nothing inside the transaction: the file is rebuilt after the batch (:meth:`refresh`)."""

    def rebuild(self, rows: list[tuple[str, str, str]], generation: int) -> LexicalIndex:
        """Index ``rows`` (see :meth:`LexicalIndex.build`), save and keep it."""
        lex = LexicalIndex.build(rows, generation)
        lex.save(self.folder)
        self.current = lex
        self._stamp = self._file_stamp()
        return lex
