"""Files shipped with the package, found one way: here.

- :func:`data_path`: the prompt templates and the sample articles. In a wheel they live in
  ``assistant/_data/``; in a source checkout (also an editable install) they are the top-level
  ``prompts/`` and ``samples/`` folders.
- :func:`shipped`: data that lives inside the package itself (``models/calibration.json``,
  ``retrieve/probes.json``, the adapters and readers under ``models/``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_path", "shipped"]

_PKG = Path(__file__).resolve().parent


def data_path(kind: str) -> Path:
    """Folder of shipped data of one kind: 'prompts' or 'samples'."""
    for candidate in (_PKG / "_data" / kind, _PKG.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {kind!r} not found beside {_PKG}; reinstall the package")


def shipped(relative: str) -> Path:
    """A file or folder inside the package, by its path relative to ``assistant/`` (e.g.
    ``"models/calibration.json"``)."""
    return _PKG / relative
