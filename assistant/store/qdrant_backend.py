"""What is Qdrant-specific about our vector store (``store.backend: qdrant``): the client, the
collections, counting, listing ids and fetching stored vectors. Reads and writes go through
llama-index's QdrantVectorStore (``pip install cited-assistant[qdrant]``).

Qdrant runs in local mode (embedded, on disk) under ``<index>/qdrant`` by default: no server, nothing on
the network. Local mode locks its folder, so one process at a time opens the index (a second one gets
ConfigError saying so), and calls are serialized (``serial``): the local engine is not meant for
concurrent calls. With ``store.qdrant_url`` (and ``store.qdrant_api_key`` for a cluster that wants one)
the collections live on a Qdrant server that any number of processes share.

Qdrant point ids are UUIDs or integers, so a node's id is the UUID5 of our id, and our id is kept in
the payload (``ref``). Qdrant reports the cosine similarity itself.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ConfigError, StoreUnavailableError
from assistant.settings import StoreSettings
from assistant.store.chroma_backend import KINDS, collection_name

__all__ = ["QdrantBackend"]

_NS = uuid.UUID("5b0e0c1e-6a52-4a57-9d3c-5f0f4d7f2a10")


class QdrantBackend:

    @staticmethod
    def cosine(similarity: float) -> float:
        return float(similarity)

    def __init__(self, index_dir: Path, index_uid: str, settings: StoreSettings, dim: int):
        try:
            import qdrant_client  # noqa: F401
            from llama_index.vector_stores.qdrant import QdrantVectorStore  # noqa: F401
        except ImportError as e:
            raise ConfigError(
                "store.backend is qdrant but qdrant-client / llama-index-vector-stores-qdrant are missing; "
                "`pip install cited-assistant[qdrant]`, or use store.backend chroma"
            ) from e
        self._path = index_dir / "qdrant"
        self._settings = settings
        self.embedded = not settings.qdrant_url
        self.serial = self.embedded
        self.writes_alone = self.serial
        self._uid = index_uid
        self._dim = dim
        self.stores: dict[str, Any] = {}
        self.client = self._connect()
        self._open()

    def _connect(self) -> Any:
        from qdrant_client import QdrantClient

        s = self._settings
        if s.qdrant_url:
            key = s.qdrant_api_key.get_secret_value() if s.qdrant_api_key else None
            # its version check runs in a thread that cannot report; get_collections below says whether it is there
            client = QdrantClient(url=s.qdrant_url, api_key=key, timeout=30, check_compatibility=False)
            try:
                client.get_collections()
            except Exception as e:  # the client raises transport-specific errors
                raise StoreUnavailableError(
                    f"cannot reach the Qdrant server at {s.qdrant_url} ({type(e).__name__}: "
                    f"{' '.join(str(e).split())[:200]}); start it, or check store.qdrant_url / store.qdrant_api_key"
                ) from e
            return client
        try:
            return QdrantClient(path=str(self._path))
        except RuntimeError as e:  # the folder is locked by another process
            raise ConfigError(f"cannot open the Qdrant store at {self._path}: {e}") from e

    def _name(self, kind: str) -> str:
        return collection_name(self._uid, kind)

    def _open(self) -> None:
        from llama_index.vector_stores.qdrant import QdrantVectorStore
        from qdrant_client.http import models as rest

        for kind in KINDS:
            name = self._name(kind)
            if not self.client.collection_exists(name):
                # as QdrantVectorStore creates it (unnamed cosine vectors), but now, with our dimension
                try:
                    self.client.create_collection(name, vectors_config=rest.VectorParams(
                        size=self._dim, distance=rest.Distance.COSINE))
                except Exception:  # another process created it meanwhile (a server): fine if it is there now
                    if not self.client.collection_exists(name):
                        raise
            self.stores[kind] = QdrantVectorStore(collection_name=name, client=self.client, index_doc_id=False,
                                                  batch_size=1000)

    def reconnect(self) -> None:
        """Nothing to pick up: local mode, this process is the only one with the folder open; a server
        answers with what every process wrote."""

    def close(self) -> None:
        self.client.close()

    def reset(self) -> None:
        for kind in KINDS:
            self.client.delete_collection(self._name(kind))
        self._open()

    def node_id(self, our_id: str) -> str:
        return str(uuid.uuid5(_NS, our_id))

    def prepare(self, nodes: list[Any]) -> None:
        """Give nodes Qdrant point ids, keeping ours in the payload."""
        for n in nodes:
            n.metadata["ref"] = n.node_id
            n.id_ = self.node_id(n.node_id)

    def our_ids(self, result: Any) -> list[str]:
        return [n.metadata["ref"] for n in (result.nodes or [])]

    def count(self, kind: str) -> int:
        return int(self.client.count(self._name(kind), exact=True).count)

    def _scroll(self, kind: str, ids: list[str] | None, vectors: bool) -> list[Any]:
        if ids is not None:
            return self.client.retrieve(self._name(kind), ids=[self.node_id(i) for i in ids],
                                        with_payload=["ref"], with_vectors=vectors)
        out, offset = [], None
        while True:
            points, offset = self.client.scroll(self._name(kind), limit=10000, offset=offset,
                                                with_payload=["ref"], with_vectors=vectors)
            out.extend(points)
            if offset is None:
                return out

    def all_ids(self, kind: str) -> set[str]:
        return {p.payload["ref"] for p in self._scroll(kind, None, False)}

    def fetch(self, kind: str, ids: list[str]) -> dict[str, np.ndarray]:
        return {p.payload["ref"]: np.asarray(p.vector, dtype=np.float32) for p in self._scroll(kind, ids, True)}

    def dims(self) -> dict[str, int]:
        out = {}
        for kind in KINDS:
            size = self.client.get_collection(self._name(kind)).config.params.vectors.size
            if self.count(kind):
                out[self._name(kind)] = int(size)
        return out
