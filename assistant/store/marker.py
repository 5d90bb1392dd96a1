"""The crash marker ``<index>/.dirty``: present while a write is in flight.

Set when a writer takes the lock, cleared when it finishes. Found by a writer when it takes the lock,
it means the previous writer died mid-write: Chroma/Qdrant and BM25 may differ from the catalog and
are repaired from it. Found while the lock is held elsewhere, it is a write in flight and left alone.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CrashMarker"]


class CrashMarker:
    def __init__(self, folder: Path):
        self.path = folder / ".dirty"

    @property
    def present(self) -> bool:
        return self.path.exists()

    def set(self) -> None:
        self.path.touch()

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def clear_others(self) -> None:
        """One file for all writers (one process writes an embedded index at a time): nothing else to clear."""
