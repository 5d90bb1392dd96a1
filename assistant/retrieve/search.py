"""Hybrid retrieval of sentences: dense (the vector store) + BM25 over normalized Arabic, fused per sentence.

Candidates are the union of the nearest sentences, the sentences of the nearest chunks and the best
BM25 sentences. Each candidate gets

    score = w_s · cos(question, sentence) + w_c · cos(question, its chunk) + w_l · BM25 / max BM25

A linear blend of similarities, not reciprocal-rank fusion: RRF gives BM25's noisy ranks as much say
as the embedder's and measured worse on Arabic (README, "Retrieval"). The weights (0.75 / 0.25 / 0.05)
were chosen on arcd-train only, the middle of a flat optimum; the other dev sets are held out.
The chunk term lets a sentence that needs its neighbours ("he said it would ...") be found; the BM25
term rescues names and numbers the small embedder blurs. With ``answer_type_weight`` > 0, the best
``answer_type_depth`` candidates also get that bonus when they hold the kind of thing the question asks
for and lacks (a number for "how many", a date for "when": assistant/retrieve/answer_type.py). Ties break
on sentence id: the same index and question always give the same ranking. ``Retrieval.best_dense`` (the
best cosine of any candidate) is what abstention weighs (assistant/retrieve/refusal.py).

A search within a few articles (``article_ids``) scores all their sentences exactly instead of asking the
vector store with a filter (``retrieval.exact_filter_max``). Each search works on one
:meth:`Index.snapshot` (one sync with other processes). The vectors of
candidates the vector store did not return come from the catalog's embedding cache (chunk vectors are
the mean of their sentences', as stored), the vector store only when the cache lacks them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from assistant.models.embedding.protocol import Embedder
from assistant.retrieve.answer_type import novel_type_evidence, question_type
from assistant.settings import RetrievalSettings
from assistant.store.index import Index, Snapshot
from assistant.text.normalize import tokenize
from assistant.types import Passage, RetrieverMode, Sentence

__all__ = ["Retriever", "Retrieval"]


@dataclass(frozen=True)
class Retrieval:
    """The best passages, the query vector, and the best dense cosine over every candidate (what
    abstention weighs: assistant/retrieve/refusal.py; 0.0 without a dense search)."""

    passages: list[Passage]
    query_vector: np.ndarray | None
    best_dense: float = 0.0


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, settings: RetrievalSettings):
        self.index = index
        self.embedder = embedder
        self.settings = settings

    def search(
        self,
        question: str,
        k: int = 10,
        *,
        article_ids: list[str] | None = None,
        mode: RetrieverMode = "hybrid",
        query_vector: np.ndarray | None = None,
    ) -> Retrieval:
        """The ``k`` best sentences for ``question``, best first."""
        st = self.settings
        view = self.index.snapshot()  # one sync for the whole search
        allowed = set(article_ids) if article_ids is not None else None
        qv = None
        dense: dict[str, float] = {}
        chunk_sim: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            qv = query_vector if query_vector is not None else self.embedder.embed_query(question)
            chunk_k = st.chunk_k if mode == "hybrid" else 0
            exact = self._exact_within(view, qv, article_ids, st.dense_k, chunk_k) if article_ids else None
            if exact is not None:
                dense, chunk_sim = exact
            else:
                dense = dict(view.vectors.query("sentences", qv, st.dense_k, article_ids))
                if chunk_k:
                    chunk_sim = dict(view.vectors.query("chunks", qv, chunk_k, article_ids))
        lexical: dict[str, float] = {}
        if mode in ("hybrid", "bm25") and view.lexical is not None:
            lexical = dict(view.lexical.search(tokenize(question), st.lexical_k, allowed))

        candidates = set(dense) | set(lexical)
        if chunk_sim:
            for ids in view.catalog.chunk_sentence_ids(chunk_sim).values():
                candidates.update(ids)
        if not candidates:
            return Retrieval([], qv)
        rows = view.catalog.sentences(candidates)
        known = [c for c in candidates if c in rows]  # the catalog is the truth
        if mode == "hybrid" and qv is not None:
            missing = [c for c in known if c not in dense]
            need_chunks = list({rows[c][1] for c in known} - set(chunk_sim))
            members = view.catalog.chunk_sentence_ids(need_chunks) if need_chunks else {}
            # one read of the stored vectors for the candidates without a dense score and for the
            # sentences of the chunks without one (a sentence in both is read once)
            wanted = set(missing) | {s for sids in members.values() for s in sids}
            sentences = {sid: rows[sid][0] for sid in wanted if sid in rows}
            sentences |= {sid: r[0] for sid, r in view.catalog.sentences(wanted - set(sentences)).items()}
            vectors = self._sentence_vectors(view, sentences)
            for sid in missing:
                if sid in vectors:
                    dense[sid] = float(vectors[sid] @ qv)
            for cid, v in self._chunk_vectors(view, members, vectors).items():
                chunk_sim[cid] = float(v @ qv)
        top_lex = max(lexical.values(), default=0.0) or 1.0
        passages = []
        for sid in known:
            sentence, cid = rows[sid]
            d = dense.get(sid, 0.0)
            c = chunk_sim.get(cid, 0.0)
            lx = lexical.get(sid, 0.0) / top_lex
            if mode == "dense":
                score = d
            elif mode == "bm25":
                score = lx
            else:
                score = st.sentence_weight * d + st.context_weight * c + st.lexical_weight * lx
            passages.append(Passage(sentence=sentence, score=float(score), dense=d, context=c, lexical=lx))
        passages.sort(key=lambda p: (-p.score, p.sentence.id))
        if mode == "hybrid" and st.answer_type_weight > 0:
            passages = self._answer_type_bonus(question, passages)
        return Retrieval(passages[:k], qv, max(dense.values(), default=0.0))

    def _answer_type_bonus(self, question: str, passages: list[Passage]) -> list[Passage]:
        """The best ``answer_type_depth`` passages, each +``answer_type_weight`` when it holds what the
        question asks for and lacks (assistant/retrieve/answer_type.py), re-sorted; the rest unchanged."""
        st = self.settings
        kind = question_type(question)
        if kind == "other":
            return passages
        head = []
        for p in passages[: st.answer_type_depth]:
            ev = novel_type_evidence(kind, question, p.sentence.text)
            head.append(replace(p, score=p.score + st.answer_type_weight * ev, answer_type=ev) if ev else p)
        head.sort(key=lambda p: (-p.score, p.sentence.id))
        return head + passages[st.answer_type_depth:]

    def _exact_within(self, view: Snapshot, qv: np.ndarray, article_ids: list[str], k: int,
                      chunk_k: int) -> tuple[dict[str, float], dict[str, float]] | None:
        """The nearest ``k`` sentences and ``chunk_k`` chunks of the articles ``article_ids``, scored exactly
        over all their sentences' stored vectors, or None when they hold more than ``exact_filter_max``
        sentences (then the vector store's filtered search is asked)."""
        sids: list[str] = []
        for aid in dict.fromkeys(article_ids):
            sids += view.catalog.sentence_ids_of(aid)
            if len(sids) > self.settings.exact_filter_max:
                return None
        rows = view.catalog.sentences(sids)
        vectors = self._sentence_vectors(view, {sid: rows[sid][0] for sid in sids if sid in rows})
        members = view.catalog.chunk_sentence_ids({rows[s][1] for s in vectors}) if chunk_k else {}
        chunks = self._chunk_vectors(view, members, vectors)

        def nearest(vs: dict[str, np.ndarray], n: int) -> dict[str, float]:
            scores = {i: float(v @ qv) for i, v in vs.items()}
            return dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n])

        return nearest(vectors, k), nearest(chunks, chunk_k)

    @staticmethod
    def _sentence_vectors(view: Snapshot, sentences: dict[str, Sentence]) -> dict[str, np.ndarray]:
        """Stored vectors of some sentences: from the embedding cache, else from the vector store."""
        if not sentences:
            return {}
        titles = {i: a.title for i, a in view.catalog.article_infos(s.article_id for s in sentences.values()).items()}
        got = view.cache.sentence_vectors({i: (s.text, titles.get(s.article_id)) for i, s in sentences.items()})
        rest = [i for i in sentences if i not in got]
        if rest:
            got.update(view.vectors.vectors("sentences", rest))
        return got

    @staticmethod
    def _chunk_vectors(view: Snapshot, members: dict[str, list[str]],
                       sentence_vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Stored vectors of chunks (``{chunk id: its sentence ids}``), the mean of their sentences' (from
        ``sentence_vectors``), else from the vector store."""
        if not members:
            return {}
        got = view.cache.chunk_vectors(members, sentence_vectors)
        rest = [i for i in members if i not in got]
        if rest:
            got.update(view.vectors.vectors("chunks", rest))
        return got
