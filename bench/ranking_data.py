"""Candidate pools of every dev question, for training the reranker and calibrating abstention.

For each dev set (its eval index, built when missing), each question's candidates are those
the product's retriever takes (dense top ``dense_k`` sentences, the sentences of the top ``chunk_k``
chunks, BM25 top ``lexical_k``), with exact cosines from the stored vectors, in three situations:

- ``full``: the whole corpus indexed (an answerable question);
- ``withheld``: every article sharing the question's title left out (the evaluator's unanswerable case:
  assistant/evaluation/qasets.py ``hold_out``);
- ``sibling``: only the question's own paragraph left out, its siblings kept (the on-topic case: the
  article is there, the answer is not, unless a sibling happens to hold it too).

Left-out articles are masked, not deleted, so BM25 keeps the full corpus's idf: close to, not exactly,
what an index without them gives (the evaluator's figures in the closing table come from real indexes).
Query vectors are cached in ``runs/ranking/<set>-<model tag>.qvec.npz``; the pools go to
``runs/ranking/<set>-<model tag>.pkl``. ``--plain``: with the base model, no LoRA adapter (what
``python -m tools.train_embedder_lora`` trains from).

Usage: python -m bench.ranking_data [--sets ...] [--plain]
"""

from __future__ import annotations

import pickle
import sys
import time

import numpy as np

from assistant import Assistant, Settings
from assistant.models.embedding.factory import build_embedder
from assistant.text.language import is_arabic
from assistant.text.normalize import tokenize
from bench.common import DEV_SETS, arguments, load_set, pools_path, set_index, shared_data, stored_vectors, write_result


def query_vectors(embedder, name: str, texts: list[str]) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Query vectors of ``texts``, cached per set and model in runs/ranking."""
    path = pools_path(name, embedder.vector_id, ".qvec.npz")
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        z = np.load(path, allow_pickle=True)
        cached = dict(zip(z["texts"].tolist(), z["vectors"], strict=True))
    todo = [t for t in dict.fromkeys(texts) if t not in cached]
    for i, t in enumerate(todo, 1):
        cached[t] = np.asarray(embedder.embed_query(t), dtype=np.float32)
        if i % 100 == 0:
            print(f"  {name}: embedded {i}/{len(todo)} questions", file=sys.stderr, flush=True)
    if todo:
        keys = list(cached)
        np.savez(path, texts=np.array(keys, dtype=object), vectors=np.stack([cached[k] for k in keys]))
    return cached


def pools(a: Assistant, embedder, name: str, questions, st) -> dict:  # noqa: ANN001
    lex = a.index.lexical
    sv = stored_vectors(a)
    sids, info, S, C, chunk, art = sv.sids, sv.info, sv.S, sv.C, sv.chunk, sv.art
    infos = a.index.catalog.article_infos({r[1] for r in sv.rows})
    title = np.array([infos[x].title or x for x in art], dtype=object)
    pos = {s: j for j, s in enumerate(sids)}
    sentences = {s: {"text": info[s][0].text, "article_id": info[s][0].article_id, "index": info[s][0].index,
                     "chunk": info[s][1], "title": infos[info[s][0].article_id].title} for s in sids}
    qv_all = query_vectors(embedder, name, [q.question for q in questions])
    out = []
    for q in questions:
        qv = qv_all[q.question]
        dense, csim = S @ qv, C @ qv
        toks = tokenize(q.question)
        bm = np.zeros(len(sids), dtype=np.float32)
        for sid, score in lex.search(toks, len(sids)) if lex is not None else []:
            bm[pos[sid]] = score
        qtitle = infos[q.article_id].title or q.article_id
        masks = {"full": np.ones(len(sids), bool), "withheld": title != qtitle, "sibling": art != q.article_id}
        entry = {"id": q.id, "question": q.question, "lang": "ar" if is_arabic(q.question) else "en",
                 "article_lang": q.article_lang, "gold": list(q.gold_sentence_ids), "answers": list(q.answers),
                 "article_id": q.article_id}
        for sit, m in masks.items():
            idx = np.nonzero(m)[0]
            d, b = dense[idx], bm[idx]
            pool = set(idx[np.argsort(-d, kind="stable")[: st.dense_k]].tolist())
            top_chunks = np.unique(chunk[idx])[np.argsort(-csim[np.unique(chunk[idx])], kind="stable")[: st.chunk_k]]
            pool |= set(idx[np.isin(chunk[idx], top_chunks)].tolist())
            hits = np.nonzero(b > 0)[0]
            pool |= set(idx[hits[np.argsort(-b[hits], kind="stable")[: st.lexical_k]]].tolist())
            p = np.array(sorted(pool))
            entry[sit] = {"sids": [sids[j] for j in p], "dense": dense[p].astype(np.float32),
                          "chunk": csim[chunk[p]].astype(np.float32), "bm25": bm[p].astype(np.float32),
                          "n_sentences": int(m.sum())}
        out.append(entry)
    return {"set": name, "sentences": sentences, "questions": out}


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=DEV_SETS)
    ap.add_argument("--plain", action="store_true", help="the base model without its LoRA adapter")
    args = ap.parse_args(argv)
    folder = shared_data(args.data, args.sets)
    settings = Settings()
    if args.plain:
        settings = settings.replace(embedding={"adapter": None})
    embedder = build_embedder(settings.embedding, settings.paths)
    written = {}
    for name in args.sets:
        t0 = time.perf_counter()
        qs = load_set(folder, name, settings)
        out = pools_path(name, embedder.vector_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        with set_index(settings, embedder, name, qs) as a:
            data = pools(a, embedder, name, [q for q in qs.questions if q.gold_sentence_ids], settings.retrieval)
        data["model_id"] = embedder.model_id
        with open(out, "wb") as f:
            pickle.dump(data, f)
        written[name] = {"pools": str(out), "questions": len(data["questions"])}
        print(f"{name}: {len(data['questions'])} questions in {time.perf_counter() - t0:.0f} s -> {out}", file=sys.stderr)
    write_result(args.out, settings, args, written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
