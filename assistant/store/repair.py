"""Repair and rebuild: make the vector store and BM25 match the catalog. The caller holds the write lock.

A repair follows a writer that died mid-write: nodes the catalog does not know are deleted, articles
whose nodes are missing are split again and written with their vectors from the embedding cache (no
model time). A rebuild re-splits and re-embeds every stored article with the current settings.
"""

from __future__ import annotations

import numpy as np

from assistant.store.nodes import Prepared, sentence_nodes
from assistant.store.writer import Writer
from assistant.types import Article

__all__ = ["repair", "rebuild"]


def stored_article(writer: Writer, article_id: str) -> Article | None:
    got = writer.catalog.article(article_id)
    if got is None:
        return None
    info, text = got
    return info.to_article(text)


def repair(writer: Writer) -> dict[str, int]:
    """Make the vector store and BM25 match the catalog (after a crash)."""
    catalog, vectors = writer.catalog, writer.vectors
    want_s, want_c = catalog.all_ids()
    have_s, have_c = vectors.all_ids("sentences"), vectors.all_ids("chunks")
    vectors.delete("sentences", have_s - want_s)
    vectors.delete("chunks", have_c - want_c)
    stale = {s.article_id for s, _ in catalog.sentences(want_s - have_s).values()}
    stale |= {c.article_id for c in catalog.chunks_of_ids(want_c - have_c)}
    # stale articles are written whole: first drop what the store still holds of them
    vectors.delete("sentences", [i for a in stale for i in catalog.sentence_ids_of(a) if i in have_s])
    vectors.delete("chunks", [i for a in stale for i in catalog.chunk_ids_of(a) if i in have_c])
    batch: list[tuple[Prepared, list, np.ndarray]] = []
    for aid in sorted(stale):
        article = stored_article(writer, aid)
        if article is None:
            continue
        p = Prepared(article, writer.settings)
        nodes = sentence_nodes(p)
        sv, _ = writer.cache.embed_nodes(nodes)
        batch.append((p, nodes, sv))
        if sum(len(p.sentences) for p, _, _ in batch) >= 1000:
            writer.write_nodes(batch)
            batch = []
    writer.write_nodes(batch)
    writer.refresh_lexical()
    return {"removed": len(have_s - want_s) + len(have_c - want_c), "restored_articles": len(stale)}


def rebuild(writer: Writer) -> None:
    """Re-split and re-embed every stored article with the current settings, into an emptied store."""
    writer.vectors.reset()
    batch: list[Prepared] = []
    for info in writer.catalog.articles():
        article = stored_article(writer, info.id)
        if article is None:
            continue
        batch.append(Prepared(article, writer.settings))
        if len(batch) >= 32:
            writer.commit(batch)
            batch = []
    if batch:
        writer.commit(batch)
    writer.refresh_lexical()
