"""Our node parser: a prepared article becomes llama-index sentence nodes and chunk nodes.

A sentence node is one sentence (its id is the sentence id, its metadata the article id, its index and
its chunk id, and until it is embedded the article title, for embedders that read one); a chunk node is a run of whole
consecutive sentences (at most ``chunking.max_sentences`` and ``chunking.max_chars``), with the article id
and its first and last sentence index. These are the nodes written to the vector store through
llama-index's ``vector_store.add(nodes)``; the retriever reads the metadata back from the catalog, which
is the source of truth.

A chunk's vector is the normalized mean of its sentence vectors, not an embedding of the chunk text:
embedding every chunk would run the model over every sentence a second time (about doubling the model
time of an ingest, where the budget for the llama-index write path is 5%). The retrieval weights were
tuned with these mean vectors.
"""

from __future__ import annotations

import hashlib

import numpy as np

from assistant.errors import EmptyArticleError
from assistant.settings import Settings
from assistant.store.catalog import Chunk
from assistant.store.hashing import content_hash
from assistant.text.language import detect_language
from assistant.text.normalize import tokenize
from assistant.text.sentences import split_article
from assistant.types import Article, Sentence

__all__ = ["Prepared", "make_chunks", "mean_vector", "text_node", "sentence_nodes", "chunk_nodes"]


def make_chunks(article_id: str, sentences: list[Sentence], max_sentences: int, max_chars: int) -> list[Chunk]:
    """Group consecutive whole sentences into chunks of at most ``max_sentences`` and ``max_chars``."""
    chunks: list[Chunk] = []
    first = 0
    size = 0
    for i, s in enumerate(sentences):
        if i > first and (i - first >= max_sentences or size + len(s.text) > max_chars):
            chunks.append(_chunk(article_id, sentences, first, i - 1))
            first, size = i, 0
        size += len(s.text) + 1
    if sentences:
        chunks.append(_chunk(article_id, sentences, first, len(sentences) - 1))
    return chunks


def _chunk(article_id: str, sentences: list[Sentence], first: int, last: int) -> Chunk:
    h = hashlib.blake2b(digest_size=8)
    for s in sentences[first : last + 1]:
        h.update(s.id.encode())
    return Chunk(id="c" + h.hexdigest(), article_id=article_id, first=first, last=last)


class Prepared:
    """An article split and ready to embed and commit."""

    def __init__(self, article: Article, settings: Settings):
        self.article = article
        self.hash = content_hash(article)
        self.lang = article.lang or detect_language(article.text, default="ar")
        self.sentences = split_article(article.id, article.text, max_chars=settings.chunking.max_sentence_chars)
        if not self.sentences:
            raise EmptyArticleError(article.id, "has no sentences with words in them; nothing to index")
        self.chunks = make_chunks(
            article.id, self.sentences, settings.chunking.max_sentences, settings.chunking.max_chars
        )
        self.chunk_of = [c.id for c in self.chunks for _ in range(c.first, c.last + 1)]
        self.tokens = [" ".join(tokenize(s.text)) for s in self.sentences]


def mean_vector(rows: np.ndarray) -> np.ndarray:
    """The normalized mean of some unit rows (a chunk's vector from its sentences' vectors)."""
    v = rows.mean(axis=0)
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def text_node(node_id: str, text: str, metadata: dict, embedding: list[float] | None = None):  # noqa: ANN201
    """A llama-index TextNode as the index writes it: ``metadata`` for filtering and reading back only."""
    from llama_index.core.schema import TextNode

    # none of the metadata goes into the embedded text
    return TextNode(id_=node_id, text=text, metadata=metadata, embedding=embedding,
                    excluded_embed_metadata_keys=list(metadata), excluded_llm_metadata_keys=list(metadata))


def sentence_nodes(p: Prepared) -> list:
    """One node per sentence, without embedding (the embedder adapter fills it)."""
    return [text_node(s.id, s.text, {"article_id": s.article_id, "idx": s.index, "chunk_id": c, "title": p.article.title})
            for s, c in zip(p.sentences, p.chunk_of)]


def chunk_nodes(p: Prepared, sentence_vectors: np.ndarray) -> list:
    """One node per chunk, its embedding the mean of its sentences' (rows of ``sentence_vectors``)."""
    return [text_node(c.id, " ".join(s.text for s in p.sentences[c.first : c.last + 1]),
                  {"article_id": c.article_id, "first": c.first, "last": c.last},
                  mean_vector(sentence_vectors[c.first : c.last + 1]).tolist())
            for c in p.chunks]
