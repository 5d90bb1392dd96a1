"""What decides that an article changed: the hash of everything that shapes it in the index."""

from __future__ import annotations

import hashlib

from assistant.types import Article

__all__ = ["content_hash"]


def content_hash(article: Article) -> str:
    """Hash of everything that shapes an article in the index: its text and metadata."""
    h = hashlib.sha256()
    for part in (article.text, article.title, article.source, article.date, article.lang):
        h.update((part or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()
