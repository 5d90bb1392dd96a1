"""The demo collection: the index named ``sample``, filled from the bundled sample articles.

Shared by the command line (``assistant ask/chat``) and the web chat (``python app.py``, ``assistant serve``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from assistant.resources import data_path
from assistant.types import IngestReport

__all__ = ["SAMPLE_INDEX", "ensure_sample"]

Progress = Callable[[int, int, str], None]


class _Collection(Protocol):
    """What :func:`ensure_sample` needs of an :class:`assistant.Assistant` (a structural type, so that this
    module does not import the facade)."""

    def add(self, sources: list[Path], *, progress: Progress | None = None) -> IngestReport: ...


SAMPLE_INDEX = "sample"


def ensure_sample(assistant: _Collection, progress: Progress | None = None) -> IngestReport:
    """Index the bundled sample articles into ``assistant`` (a no-op for articles already there unchanged)."""
    return assistant.add([data_path("samples")], progress=progress)
