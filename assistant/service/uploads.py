"""Upload storage: files a user sends are checked (type, size, a regular file), renamed to a safe name
and copied into a folder of ours (a collection's ``uploads/``, an evaluation run's ``input/``) before
anything reads them; Gradio's own temp copies expire."""

import os
import re
import shutil
import stat
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from assistant.assistant import Assistant
from assistant.text.characters import INVISIBLE_FORMAT
from assistant.types import ArticleInfo

__all__ = ["UPLOADS_DIR", "safe_filename", "store_uploads", "drop_upload"]

UPLOADS_DIR = "uploads"  # inside each collection's index folder
_UNSAFE_NAME_CHARS = re.compile(r'[/\\:*?"<>|]')


def store_uploads(paths: Sequence[str], folder: Path, *, extensions: Sequence[str], max_bytes: float
                  ) -> tuple[list[Path], list[tuple[str, str]]]:
    """Copy the acceptable files of ``paths`` into ``folder`` under :func:`safe_filename` names; returns
    (stored paths, [(name, why refused)]). Taken: regular files with one of ``extensions``, at most
    ``max_bytes`` (``server.max_upload_mb``), one file per name (case-insensitive)."""
    taken = tuple(extensions)
    saved: list[Path] = []
    refused: list[tuple[str, str]] = []
    used: set[str] = set()
    for p in paths:
        src = Path(p)
        name = safe_filename(src.name)
        ext = Path(name).suffix.lower()
        try:
            st = src.lstat()
        except OSError:
            refused.append((name, "was not received; upload it again"))
            continue
        if not stat.S_ISREG(st.st_mode):
            refused.append((name, "is not a regular file"))
        elif ext not in taken:
            refused.append((name, f"'{ext or 'no extension'}' is not a type we take; upload "
                                  f"{', '.join(taken)} files"))
        elif st.st_size > max_bytes:
            refused.append((name, f"is {_size(st.st_size)}, over the upload limit of {_size(max_bytes)} "
                                  "(server.max_upload_mb)"))
        elif name.casefold() in used:
            refused.append((name, "has the same name as another file of this upload; rename one"))
        else:
            used.add(name.casefold())
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / name
            if dest.resolve().parent != folder.resolve():  # safe_filename makes this impossible; keep it so
                refused.append((name, "is not a safe file name"))
                continue
            tmp = folder / f".{name}.part"
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
            saved.append(dest)
    return saved, refused


def drop_upload(a: Assistant, info: ArticleInfo | None) -> None:
    """After ``info``'s article was removed from ``a``: delete its uploaded file, unless it is not one of
    ours or another article still comes from it."""
    if info is None or not info.path:
        return
    path = Path(info.path)
    if path.parent == a.path / UPLOADS_DIR and not any(i.path == info.path for i in a.articles()):
        path.unlink(missing_ok=True)


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes / 1e3:.1f} kB"


def safe_filename(name: str) -> str:
    """A name an uploaded file can be stored under: its last path part only (either slash), without
    control or invisible formatting characters, without ``: * ? " < > |``, leading dots or trailing
    dots and spaces, at most 120 characters before the extension; "upload" when nothing is left.
    Letters of any script stay: "تقرير.txt" stays "تقرير.txt"."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in INVISIBLE_FORMAT.sub("", base) if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip().lstrip(".").rstrip(". ")
    stem, ext = os.path.splitext(base)
    if not stem:
        stem, ext = (ext.lstrip(".") or "upload"), ""
    return stem[:120] + ext[:16]

