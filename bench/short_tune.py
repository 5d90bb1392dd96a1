"""Tune how the span reader picks among the cited sentences, on TyDi QA (the reader's training set).

For each TyDi question, the citations of today's answer (``Assistant.ask`` with no short answer) and the
reader's best span in each of the first three; then, for each policy, the mean F1 of the short answer a
reader would get: read the first ``k`` citations (1-3) and take the span of the highest
``score - penalty · (citation rank - 1)``. Printed for all TyDi questions and for the 15% held out from
training (seed 1, as bench/train_span_reader.py splits them). Choose there, report on the other sets.

    python bench/short_tune.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import warm, with_short_producer  # noqa: E402

from assistant import Assistant, Settings  # noqa: E402
from assistant.answer.short.producers import trim_to_words  # noqa: E402
from assistant.answer.short.span_reader import SpanReader  # noqa: E402
from assistant.evaluation.metrics import f1_score  # noqa: E402
from assistant.evaluation.qasets import load_squad  # noqa: E402
from assistant.evaluation.run import default_index_path  # noqa: E402
from assistant.models.embedding.factory import build_embedder  # noqa: E402

QA = ROOT.parent / "shared" / "data" / "qa"
SET = "tydiqa-goldp-ar-dev"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    base = Settings()
    settings = with_short_producer(base, "none")
    embedder = build_embedder(base.embedding)
    reader = SpanReader.load(embedder, base.answer.short_reader, embedder.model_id)
    qset = load_squad(QA / f"{SET}.json")
    qids = sorted(q.id for q in qset.questions)
    held = set(random.Random(1).sample(qids, len(qids) * 15 // 100))
    rows = []
    warm(base, embedder, SET, str(base.index_root / "bench-{set}-*"))
    path = default_index_path(base, SET, embedder.vector_id)
    with Assistant.open(path, settings=settings, embedder=embedder) as a:
        a.add(qset.articles)
        for q in qset.questions[: args.limit]:
            ans = a.ask(q.question)
            cites = ans.citations[:3]
            guesses = reader.guesses(q.question, [c.text for c in cites]) if cites else []
            cands = []
            for g, c in zip(guesses, cites):
                if g is None:
                    continue
                s, e = trim_to_words(c.text, g.start, g.end)
                cands.append((g.score, g.prob, f1_score(c.text[s:e], q.answers)))
            rows.append({"id": q.id, "held": q.id in held, "cands": cands})
    Path("runs/short").mkdir(parents=True, exist_ok=True)
    Path("runs/short/tune-tydi.json").write_text(json.dumps(rows), encoding="utf-8")
    for label, sel in (("all TyDi", rows), ("held-out TyDi", [r for r in rows if r["held"]])):
        print(f"{label} ({len(sel)} questions):")
        for k in (1, 2, 3):
            line = []
            for pen in (0.0, 1.0, 2.0, 4.0, 8.0):
                f1s = []
                for r in sel:
                    c = [(s - pen * i, f) for i, (s, _, f) in enumerate(r["cands"][:k])]
                    f1s.append(max(c)[1] if c else 0.0)
                line.append(f"penalty {pen:g}: {np.mean(f1s):.3f}")
            print(f"  read {k}: " + ", ".join(line))


if __name__ == "__main__":
    main()
