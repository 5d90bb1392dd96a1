"""The demo collection: the index named ``sample``, filled from the bundled sample articles.

Shared by the command line (``assistant ask/chat``) and the web chat (``python app.py``, ``assistant serve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.resources import data_path

if TYPE_CHECKING:
    from assistant.assistant import Assistant, Progress
    from assistant.types import IngestReport

__all__ = ["SAMPLE_INDEX", "ensure_sample"]

SAMPLE_INDEX = "sample"


def ensure_sample(assistant: Assistant, progress: Progress | None = None) -> IngestReport:
    """Index the bundled sample articles into ``assistant`` (a no-op for articles already there unchanged)."""
    return assistant.add([data_path("samples")], progress=progress)
