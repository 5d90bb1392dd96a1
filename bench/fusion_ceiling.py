"""How far can fusing our retrieval signals go? Hit@1 of fusion variants, and the best over a weight grid.

For every dev set (its eval index, built when missing, as ``python -m bench.retrieval_hits`` uses it), each question's candidates are
those the product's retriever takes (dense top ``dense_k`` sentences, the sentences of the top ``chunk_k``
chunks, BM25 top ``lexical_k``), scored with exact cosines from the stored vectors. Then:

- ``product``: the shipped fusion (settings.retrieval weights);
- ``dense`` / ``bm25``: the single retrievers;
- ``idf-coverage``: the lexical term as the idf-weighted share of the question's words found in the
  sentence instead of BM25 / max BM25;
- ``digits``: + a bonus for sentences with a number when the question asks how many / when;
- ``window``: the chunk term replaced by each sentence's own window (it and its neighbours, mean vector);
- ``article``: + a soft maximum over the sentences of the same article;
- ``grid, chosen on arcd-train``: the best of a weight grid (context 0-0.5, lexical 0-0.2, both lexical forms)
  chosen on arcd-train, applied everywhere;
- ``grid, best on each set itself``: the best grid point chosen on each set. This is tuning to the test file;
  it is printed only as a ceiling: no point of the grid does better on that file.

Exact cosines instead of Chroma's approximate search, so ``product`` can differ from
``bench.retrieval_hits`` by a question or two.

Usage: python -m bench.fusion_ceiling [--sets ...]
"""

from __future__ import annotations

import re
import sys

import numpy as np

from assistant import Assistant, Settings
from assistant.models.embedding.factory import build_embedder
from assistant.text.normalize import tokenize
from bench.common import DEV_SETS, arguments, load_set, set_index, shared_data, stored_vectors, unit, write_result

CHOOSE_ON = "arcd-train"  # the set the grid point is chosen on
_DIGIT = re.compile(r"[0-9\u0660-\u0669\u06f0-\u06f9]")
_NUMERIC_Q = re.compile(r"(^|\s)(كم|متى|ما عدد|how many|how much|when|what year|in what year|which year)(\s|$)", re.I)


def features(a: Assistant, embedder, questions, st) -> list[dict]:
    """Per question: the candidate pool with every signal the variants use."""
    lex = a.index.lexical
    sv = stored_vectors(a)
    rows, sids, info, S, C, chunk, art = sv.rows, sv.sids, sv.info, sv.S, sv.C, sv.chunk, sv.art
    where = {(info[s][0].article_id, info[s][0].index): j for j, s in enumerate(sids)}
    win = np.zeros_like(S)
    for j, s in enumerate(sids):
        sent = info[s][0]
        near = [where.get((sent.article_id, sent.index + o)) for o in (-1, 1)]
        win[j] = S[j] + sum(S[n] for n in near if n is not None)
    win = unit(win)
    docs = [set(r[2].split()) for r in rows]
    df: dict[str, int] = {}
    for d in docs:
        for t in d:
            df[t] = df.get(t, 0) + 1
    n_docs = len(docs)
    digits = np.array([bool(_DIGIT.search(info[s][0].text)) for s in sids], dtype=float)
    pos = {s: j for j, s in enumerate(sids)}
    out = []
    for q, qv in zip(questions, embedder.embed_queries([q.question for q in questions])):
        dense, csim = S @ qv, C @ qv
        toks = tokenize(q.question)
        bm = np.zeros(n_docs, dtype=np.float32)
        for sid, score in lex.search(toks, n_docs) if lex is not None else []:
            bm[pos[sid]] = score
        pool = set(np.argsort(-dense, kind="stable")[: st.dense_k].tolist())
        pool |= set(np.nonzero(np.isin(chunk, np.argsort(-csim, kind="stable")[: st.chunk_k]))[0].tolist())
        hits = np.nonzero(bm > 0)[0]
        pool |= set(hits[np.argsort(-bm[hits], kind="stable")[: st.lexical_k]].tolist())
        p = np.array(sorted(pool))
        idf = {t: np.log(1 + (n_docs - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in toks}
        total = sum(idf.values()) or 1.0
        out.append({
            "pool": p, "sids": np.array([sids[j] for j in p]), "dense": dense[p], "chunk": csim[chunk[p]],
            "bm": bm[p], "cov": np.array([sum(w for t, w in idf.items() if t in docs[j]) / total for j in p]),
            "win": win[p] @ qv, "art": art[p], "digits": digits[p] * bool(_NUMERIC_Q.search(q.question)),
            "gold": set(q.gold_sentence_ids),
        })
    return out


def fused(ws: float, wc: float, wl: float, lexical: str = "max", context: str = "chunk", wd: float = 0.0,
          wa: float = 0.0):
    def score(f: dict) -> np.ndarray:
        lx = f["cov"] if lexical == "cov" else f["bm"] / (f["bm"].max() or 1.0)
        s = ws * f["dense"] + wc * f[context] + wl * lx + wd * f["digits"]
        if wa:
            agg = {}
            for a in set(f["art"].tolist()):
                v = s[f["art"] == a]
                agg[a] = v.max() + 0.05 * np.log(np.exp((v - v.max()) / 0.05).sum())
            s = s + wa * np.array([agg[a] for a in f["art"]])
        return s
    return score


def hit1(feats: list[dict], score) -> float:
    h = 0
    for f in feats:
        order = np.lexsort((f["sids"], -score(f)))
        h += f["sids"][order[0]] in f["gold"]
    return h / len(feats)


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, sets=DEV_SETS)
    args = ap.parse_args(argv)
    folder = shared_data(args.data, args.sets)
    settings = Settings()
    st = settings.retrieval
    embedder = build_embedder(settings.embedding, settings.paths)
    data = {}
    for name in args.sets:
        qs = load_set(folder, name, settings)
        with set_index(settings, embedder, name, qs) as a:
            data[name] = features(a, embedder, [q for q in qs.questions if q.gold_sentence_ids], st)
        print(f"{name}: {len(data[name])} questions", file=sys.stderr, flush=True)
    base = (st.sentence_weight, st.context_weight, st.lexical_weight)
    variants = {
        "product": fused(*base),
        "dense": fused(1, 0, 0),
        "bm25": fused(0, 0, 1),
        "idf-coverage": fused(*base, lexical="cov"),
        "digits +0.05": fused(*base, wd=0.05),
        "window": fused(*base, context="win"),
        "article +0.1": fused(*base, wa=0.1),
    }
    grid = [(round(1 - wc / 100, 2), wc / 100, wl, lx) for wc in range(0, 55, 5)
            for wl in (0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2) for lx in ("max", "cov")]
    table = {name: {v: hit1(f, fn) for v, fn in variants.items()} for name, f in data.items()}
    on_grid = {name: {g: hit1(f, fused(*g[:3], lexical=g[3])) for g in grid} for name, f in data.items()}
    if CHOOSE_ON in data:
        chosen = max(grid, key=on_grid[CHOOSE_ON].__getitem__)
        for name in data:
            table[name][f"grid, chosen on {CHOOSE_ON}"] = on_grid[name][chosen]
    for name in data:
        best = max(grid, key=on_grid[name].__getitem__)
        table[name]["grid, best on each set itself"] = on_grid[name][best]
        table[name]["  its weights"] = best
        if CHOOSE_ON in data:
            table[name][f"  weights chosen on {CHOOSE_ON}"] = chosen
    names = list(data)
    print("weights: (context, lexical, lexical form); sentence = 1 - context")
    print(f"{'hit@1':32s}" + "".join(f"{n[:20]:>22s}" for n in names))
    for v in table[names[0]]:
        if v.startswith("  "):
            print(f"{v:32s}" + "".join(f"{str(table[n][v][1:]):>22s}" for n in names))
        else:
            print(f"{v:32s}" + "".join(f"{table[n][v]:22.3f}" for n in names))
    write_result(args.out, settings, args, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
