"""What is Chroma-specific about our vector store: the client, the collections, counting, listing ids
and fetching stored vectors, and the search (the collection's own query: the one llama-index's
ChromaVectorStore sends, without its import on the question path). Writes go through llama-index's
ChromaVectorStore.

Chroma never embeds anything itself (its default embedding function would download a model): every
vector comes from our embedder. Embedded Chroma lives in ``<index>/chroma``; a Chroma server
(``chroma run``) is used instead when ``store.chroma_url`` is set. Collections are named
``idx-<catalog uid>-sentences`` / ``-chunks``, as indexes made before this module have them.

Embedded Chroma keeps its vector index in memory, so a process does not see vectors another process
added after it opened the index: :meth:`ChromaBackend.reconnect` reopens the client (the vector store
calls it when the catalog says another process wrote). A server needs no reconnect.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.errors import ConfigError, StoreUnavailableError
from assistant.settings import StoreSettings
from assistant.telemetry import quiet_telemetry

__all__ = ["ChromaBackend", "collection_name"]

KINDS = ("sentences", "chunks")


def collection_name(index_uid: str, kind: str) -> str:
    base = re.sub(r"[^a-zA-Z0-9._-]", "-", index_uid).strip("-._") or "index"
    return f"idx-{base[:200]}-{kind}"


class ChromaBackend:
    serial = False  # one client serves many threads at once (tests/test_concurrency.py)

    # Embedded Chroma (1.5.9) fails a query that runs while the first vectors of a new collection are
    # written ("Error creating hnsw segment reader: Nothing found on disk": 7 runs in 40 of 40 writes
    # beside 2 query threads, straight on chromadb; 0 in 100 with each write alone): its writes run
    # alone, its reads together (within one process; tests/test_vector_backends.py::
    # test_questions_during_the_first_writes_to_a_new_collection).

    def __init__(self, index_dir: Path, index_uid: str, settings: StoreSettings, dim: int):
        self._index_dir = index_dir
        self._settings = settings
        self._uid = index_uid
        self.embedded = not settings.chroma_url
        self.writes_alone = self.embedded
        self.collections: dict[str, Any] = {}
        self._stores: dict[str, Any] = {}
        self.client = self._connect()
        self._open()

    def _connect(self) -> Any:
        quiet_telemetry()  # where the client is built, not on import
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = self._settings
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if not settings.chroma_url:
            return chromadb.PersistentClient(path=str(self._index_dir / "chroma"), settings=chroma_settings)
        url = urlparse(settings.chroma_url)
        if not url.hostname or url.scheme not in ("http", "https"):
            raise ConfigError(f"store.chroma_url {settings.chroma_url!r} is not a URL like http://127.0.0.1:8000")
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", headers=headers, settings=chroma_settings,
            )
        except Exception as e:  # noqa: BLE001 - httpx/chromadb raise many kinds; we name the server and the fix
            raise ConfigError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(e).__name__}: {e}); start it "
                "(`chroma run --path DIR --host 127.0.0.1 --port PORT`) or unset store.chroma_url"
            ) from e

    def _open(self) -> None:
        self._stores = {}
        for kind in KINDS:
            self.collections[kind] = self.client.get_or_create_collection(
                collection_name(self._uid, kind), metadata={"hnsw:space": "cosine"}, embedding_function=None
            )

    @property
    def stores(self) -> dict[str, Any]:
        """llama-index's ChromaVectorStore per kind, made on the first write (importing llama-index's Chroma
        integration costs ~2 s, which a process that only asks does not pay)."""
        if not self._stores:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._stores = {kind: ChromaVectorStore(chroma_collection=col) for kind, col in self.collections.items()}
        return self._stores

    def search(self, kind: str, vector: np.ndarray, k: int, article_ids: list[str] | None) -> list[tuple[str, float]]:
        """The ``k`` nearest ids and their cosine, straight from the collection (what llama-index's
        ``ChromaVectorStore.query`` asks Chroma, without building nodes from the stored text)."""
        where = {"article_id": {"$in": list(article_ids)}} if article_ids is not None else None
        try:
            got = self.collections[kind].query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k,
                                               where=where, include=["distances"])
        except Exception as e:
            if self.embedded:
                raise
            # the server went away (connection refused, reset, timed out): a clear error; the client
            # reconnects by itself, so the next question works once the server is back
            raise StoreUnavailableError(
                f"the Chroma server at {self._settings.chroma_url} is not answering ({type(e).__name__}: "
                f"{' '.join(str(e).split())[:160]}); nothing is lost: start it again (`chroma run --path DIR "
                "--host HOST --port PORT`, the same DIR) and ask again") from e
        return [(i, 1.0 - float(d)) for i, d in zip(got["ids"][0], got["distances"][0])]

    def reconnect(self) -> None:
        if self.embedded:
            self.client.close()
            self.client = self._connect()
            self._open()

    def close(self) -> None:
        self.client.close()

    def reset(self) -> None:
        for kind in KINDS:
            self.client.delete_collection(collection_name(self._uid, kind))
        self._open()

    # ids are ours as they are: llama-index node ids are the Chroma ids
    def node_id(self, our_id: str) -> str:
        return our_id

    def prepare(self, nodes: list[Any]) -> None:
        """Nothing to do: Chroma takes our ids."""

    def count(self, kind: str) -> int:
        return int(self.collections[kind].count())

    def all_ids(self, kind: str) -> set[str]:
        out: set[str] = set()
        offset, page = 0, 20000
        while True:
            got = self.collections[kind].get(include=[], limit=page, offset=offset)
            out.update(got["ids"])
            if len(got["ids"]) < page:
                return out
            offset += page

    def fetch(self, kind: str, ids: list[str]) -> dict[str, np.ndarray]:
        got = self.collections[kind].get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def dims(self) -> dict[str, int]:
        """Dimension of the stored vectors per collection name (empty collections left out)."""
        out = {}
        for col in self.collections.values():
            got = col.peek(1) if col.count() else {}
            emb = got.get("embeddings") if got else None
            if emb is not None and len(emb):
                out[col.name] = len(emb[0])
        return out
