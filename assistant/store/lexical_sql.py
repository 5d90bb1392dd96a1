"""BM25 in PostgreSQL, for a served catalog (home.py): postings of our normalized tokens, written in the
same transaction as their article, so the lexical index is never behind the catalog and needs no rebuild.

The score is bm25s's ("lucene" variant, k1 1.2, b 0.75, as lexical.py builds it): for each query token
(repeats count), idf = ln(1 + (N - df + 0.5) / (df + 0.5)) times tf / (tf + k1 (1 - b + b dl / avgdl)),
with N and the token total kept in meta rows by the writer (read in the same statement, one snapshot) and df
counted from the postings at query time (an index-only scan of ``lexical_by_term``). A sentence without searchable words gets bm25s's
placeholder token, so N and avgdl match the embedded index exactly (tests/test_served_catalog.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from assistant.store.catalog import Catalog
from assistant.store.database import Transaction
from assistant.store.lexical import EMPTY_TOKEN, K1, B

__all__ = ["SqlLexical"]

_VERSION = 1  # of the tables below, recorded in meta('lexical_schema')
_SCHEMA = """
CREATE TABLE IF NOT EXISTS lexical_postings(
    term TEXT NOT NULL, sentence_id TEXT NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    tf INTEGER NOT NULL, dl INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS lexical_by_term ON lexical_postings(term) INCLUDE (sentence_id, article_id, tf, dl);
CREATE INDEX IF NOT EXISTS lexical_by_article ON lexical_postings(article_id)
"""

_SEARCH = """
WITH s AS (SELECT (SELECT CAST(value AS float8) FROM meta WHERE key = 'lexical_docs') AS n_docs,
                  (SELECT CAST(value AS float8) FROM meta WHERE key = 'lexical_tokens') AS n_tokens),
     q AS (SELECT term, count(*) AS n FROM unnest(?::text[]) AS term GROUP BY term),
     d AS (SELECT p.term, count(*) AS df FROM lexical_postings p JOIN q USING (term) GROUP BY p.term)
SELECT p.sentence_id,
       sum(q.n * ln(1 + (s.n_docs - d.df + 0.5) / (d.df + 0.5))
           * p.tf / (p.tf + ?::float8 * (1 - ?::float8 + ?::float8 * p.dl / (s.n_tokens / s.n_docs)))) AS score
FROM lexical_postings p JOIN q USING (term) JOIN d USING (term) CROSS JOIN s
WHERE s.n_docs > 0 {where}
GROUP BY p.sentence_id ORDER BY score DESC, p.sentence_id LIMIT ?
"""


class SqlLexical:
    """The lexical index of a served catalog: a live view (``current`` is itself), always as new as the
    catalog. Same search contract as lexical.LexicalIndex."""

    def __init__(self, catalog: Catalog):
        self._catalog = catalog
        if not catalog.db.has_schema("lexical_schema", _VERSION):
            catalog.db.script(_SCHEMA)
            with catalog.transaction() as tx:
                Catalog.set_meta(tx, "lexical_schema", str(_VERSION))

    # --- the LexicalFile contract (index.py, writer.py) ------------------------------------------------
    @property
    def current(self) -> SqlLexical:
        return self

    def load_newer(self) -> SqlLexical:
        return self

    @property
    def generation(self) -> int:
        return self._catalog.generation()

    def refresh(self, catalog: Catalog) -> None:
        """Nothing to do: the postings were written with their articles."""

    def __len__(self) -> int:
        return self._stats()[0]

    # --- writing, inside the article's catalog transaction ---------------------------------------------
    @staticmethod
    def forget(tx: Transaction, article_id: str) -> None:
        """Take an article's sentences out of N and the token total (its rows go with the article)."""
        docs, tokens = tx.execute(
            "SELECT count(DISTINCT sentence_id), coalesce(sum(tf), 0) FROM lexical_postings WHERE article_id = ?",
            (article_id,)).fetchone()
        if docs:
            SqlLexical._add_stats(tx, -int(docs), -int(tokens))

    @staticmethod
    def put(tx: Transaction, article_id: str, sentence_ids: Sequence[str], tokens: Sequence[str]) -> None:
        """Postings of one article's sentences (``tokens``: each sentence's space-joined tokens)."""
        rows: list[tuple[str, str, str, int, int]] = []
        total = 0
        for sid, toks in zip(sentence_ids, tokens):
            words = toks.split() or [EMPTY_TOKEN]
            total += len(words)
            rows.extend((term, sid, article_id, tf, len(words)) for term, tf in Counter(words).items())
        tx.executemany("INSERT INTO lexical_postings(term, sentence_id, article_id, tf, dl) VALUES(?,?,?,?,?)", rows)
        SqlLexical._add_stats(tx, len(sentence_ids), total)

    @staticmethod
    def _add_stats(tx: Transaction, docs: int, tokens: int) -> None:
        for key, delta in (("lexical_docs", docs), ("lexical_tokens", tokens)):
            tx.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET "
                       "value = CAST(CAST(meta.value AS BIGINT) + CAST(excluded.value AS BIGINT) AS TEXT)",
                       (key, str(delta)))

    # --- reading --------------------------------------------------------------------------------------
    def _stats(self) -> tuple[int, int]:
        rows = dict(self._catalog.db.query(
            "SELECT key, value FROM meta WHERE key IN ('lexical_docs', 'lexical_tokens')"))
        return int(rows.get("lexical_docs", 0)), int(rows.get("lexical_tokens", 0))

    def search(self, tokens: list[str], k: int, article_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (sentence id, BM25 score) with a positive score."""
        if not tokens or k <= 0:
            return []
        where = ""
        params: list[object] = [list(tokens), K1, B, B]  # N and avgdl are read in the same statement (one snapshot)
        if article_ids is not None:
            where = "AND p.article_id = ANY(?::text[])"
            params.append(sorted(article_ids))
        params.append(int(k))
        rows = self._catalog.db.query(_SEARCH.format(where=where), params)
        return [(sid, float(score)) for sid, score in rows if score > 0]
