"""Whose turn the model is: questions before documents.

One model serves a process's questions (the query vector, the abstention probes, the span reader's token
states) and its ingest (documents, embedded in the ingest pipeline's worker thread: store/pipeline.py). It
runs one call at a time. An ingest embeds its batch a turn at a time (``DOCUMENT_TURN`` texts), and
before each turn it lets every waiting question go first, so a question asked during an ingest waits for
one turn (at most about 1.5 s on two cores in bf16), not for the ingest. A plain lock would not do that: the
thread that releases it usually takes it again before a waiting one wakes. The other way round, an ingest
waits while questions keep coming: a server answers first and indexes in between.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["ModelTurns", "DOCUMENT_TURN"]

DOCUMENT_TURN = 32  # documents embedded in one turn: eight of the runtime's micro-batches of four


class ModelTurns:
    """One user of a model at a time; a question (``urgent``) waiting goes before any document turn."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._waiting_questions = 0

    @contextmanager
    def turn(self, *, urgent: bool) -> Iterator[None]:
        with self._cond:
            if urgent:
                self._waiting_questions += 1
            try:
                while self._busy or (not urgent and self._waiting_questions):
                    self._cond.wait()
            finally:
                if urgent:
                    self._waiting_questions -= 1
                    if not self._waiting_questions:
                        self._cond.notify_all()  # a question leaving by an exception wakes the waiting turns
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
