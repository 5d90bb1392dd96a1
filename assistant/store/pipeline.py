"""The ingest pipeline: while the model embeds one batch of articles (in a worker thread; OpenVINO and
torch compute without the GIL), the caller's thread writes the batch before it to SQLite and the vector
store, and reads and splits the articles of the next. Batches are cut by sentence count, so a progress
callback no longer makes every file a batch of its own; the embedder sorts each batch by length and runs
it a few sentences at a time, so little of what it computes is padding.

Where the time of ``Assistant.add`` goes (bench/ingest_speed.py, 2,000 sentences, bf16 on two cores): the
model 88.8 s of 89.1, the writing 6.0 s (Chroma 5.5, SQLite 0.3) beside it, reading and splitting 0.6 s.
The pipeline hides the writing, but on two cores the writing's CPU is the model's (20.76 sentences/s
pipelined vs 20.69 sequential, before the model ran documents on two streams). It pays where there are
more cores than the model's threads, or with a served vector store.

The caller holds the index's write lock throughout (Index.writing); the worker only reads the catalog (the
embedding cache) and runs the model. A batch is stored in the order it was put; one that fails to embed
or store raises in the caller's thread, and what was stored before it stays stored. On an exception the
batch being embedded is waited for and dropped: nothing of it was written.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType

from assistant.store.nodes import Prepared
from assistant.store.writer import Embedded, Writer

__all__ = ["IngestPipeline"]


class IngestPipeline:
    """Put prepared articles; they are embedded a batch ahead of being stored. ``stored(articles)`` is
    called in the caller's thread after each batch is committed. Use as a context manager: leaving it
    normally stores the rest; leaving it by an exception drops what was not stored yet."""

    def __init__(self, writer: Writer, batch_sentences: int, stored: Callable[[list[Prepared]], None],
                 guard: Callable[[], AbstractContextManager[object]] = nullcontext):
        self._writer = writer
        self._guard = guard
        self._batch_sentences = max(1, batch_sentences)
        self._stored = stored
        self._open: list[Prepared] = []
        self._open_sentences = 0
        self._embedding: Future[Embedded] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ingest-embed")
        self.put_count = 0  # articles put so far

    def put(self, prepared: Prepared) -> None:
        self._open.append(prepared)
        self._open_sentences += len(prepared.sentences)
        self.put_count += 1
        if self._open_sentences >= self._batch_sentences:
            self.flush()

    def flush(self) -> None:
        """Start embedding the open batch, and store the one embedded before it meanwhile."""
        if not self._open:
            return
        batch, self._open, self._open_sentences = self._open, [], 0
        previous, self._embedding = self._embedding, self._pool.submit(self._writer.embed, batch)
        if previous is not None:
            self._store(previous)

    def finish(self) -> None:
        """Embed and store everything put so far."""
        self.flush()
        current, self._embedding = self._embedding, None
        if current is not None:
            self._store(current)

    def _store(self, embedding: Future[Embedded]) -> None:
        embedded = embedding.result()
        with self._guard():  # the write lock, for this batch's store (served: ingesters take turns per batch)
            self._writer.store(embedded)
        self._stored(embedded.prepared)

    def __enter__(self) -> IngestPipeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if kind is None:
                self.finish()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)  # the worker is done before the lock is let go
            self._embedding = None
