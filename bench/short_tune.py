"""Tune how the span reader picks among the cited sentences, on TyDi QA (the reader's training set).

For each TyDi question, the citations of today's answer (``Assistant.ask`` with no short answer) and the
reader's best span in each of the first three; then, for each policy, the mean F1 of the short answer a
reader would get: read the first ``k`` citations (1-3) and take the span of the highest
``score - penalty · (citation rank - 1)``. Printed for all TyDi questions and for the 15% held out from
training (seed 1, as tools/train_span_reader.py splits them). Choose there, report on the other sets.
Each question's citations are kept in ``runs/short/tune-tydi.json``.

    python -m bench.short_tune [--limit N] [--out FILE]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

from assistant import Settings
from assistant.answer.short.producers import trim_to_words
from assistant.answer.short.span_reader import SpanReader
from assistant.evaluation.metrics import f1_score
from assistant.models.embedding.factory import build_embedder
from bench.common import TUNING_SET, arguments, load_set, set_index, shared_data, write_result

SET = TUNING_SET  # the span reader's training set: the choice is made on it, held out of the reported tables


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    data = shared_data(args.data, [SET])
    base = Settings()
    settings = base.replace(answer={"short_producer": "none"})
    embedder = build_embedder(base.embedding, base.paths)
    reader = SpanReader.load(embedder, base.answer.short_reader, embedder.model_id)
    qset = load_set(data, SET, base)
    qids = sorted(q.id for q in qset.questions)
    held = set(random.Random(1).sample(qids, len(qids) * 15 // 100))
    rows = []
    with set_index(settings, embedder, SET, qset) as a:
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
    table: dict[str, dict[str, float]] = {}
    for label, sel in (("all TyDi", rows), ("held-out TyDi", [r for r in rows if r["held"]])):
        print(f"{label} ({len(sel)} questions):")
        for k in (1, 2, 3):
            line = []
            for pen in (0.0, 1.0, 2.0, 4.0, 8.0):
                f1s = []
                for r in sel:
                    c = [(s - pen * i, f) for i, (s, _, f) in enumerate(r["cands"][:k])]
                    f1s.append(max(c)[1] if c else 0.0)
                table.setdefault(label, {})[f"read {k}, penalty {pen:g}"] = float(np.mean(f1s))
                line.append(f"penalty {pen:g}: {np.mean(f1s):.3f}")
            print(f"  read {k}: " + ", ".join(line))
    write_result(args.out, settings, args, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
