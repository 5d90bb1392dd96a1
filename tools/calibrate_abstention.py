"""Calibrate abstention: per language pair, the quantile of an index's probe nulls a question must beat.

assistant/retrieve/refusal.py answers a question when its best dense cosine reaches the ``q``-quantile
of what the off-topic probes (assistant/retrieve/probes.json) score against the same index. This script
picks ``q`` per (question language, article language) pair for the configured embedding model:

- ar→ar on TyDi QA GoldP Arabic dev (``tydiqa-goldp-ar-dev``, Apache-2.0);
- en→ar on the same TyDi passages with English questions: ``bench/data/tydi-en-questions.tsv``, 100 TyDi
  questions translated into English for this project (by hand, not by a model);
- en→en and ar→en: no calibration set of their own (the only English-context dev set, xquad-dev.en, is
  held out), so they take the model's ``default``, the ar→ar value.

For every question: its best cosine with the whole corpus indexed (answerable) and with every article of
its title withheld (the evaluator's unanswerable case; masked, the null of the full index is used). The
chosen ``q`` is the highest on the grid that wrongly abstains on at most ``--max-wrong`` (5%) of the
answerable questions: refusing a question the articles answer is what readers complained of. Then the
table shows what that does on the held-out sets (xquad-dev.ar, xquad-dev.en-ar, xquad-dev.en,
arcd-train), which play no part in the choice.

Each set's index is the eval index (``indexes/eval-<set>-<model tag>``), built here when missing.
``--write`` stores the values in assistant/models/calibration.json under the model's id
(``update_calibration``: the file is validated before it is written).

    python -m tools.calibrate_abstention [--write] [--max-wrong 0.05]
"""

from __future__ import annotations

import sys

import numpy as np

from assistant import Settings
from assistant.models.calibration import update_calibration
from assistant.models.embedding.factory import build_embedder
from assistant.retrieve.refusal import Abstention
from bench.common import (
    HELD_OUT,
    PAIR,
    TUNING_SET,
    arguments,
    english_questions,
    load_set,
    set_index,
    shared_data,
    stored_vectors,
    write_result,
)

CALIBRATE = {"ar→ar": (TUNING_SET, False), "en→ar": (TUNING_SET, True)}  # (set, its English questions)
GRID = [round(x, 3) for x in np.arange(0.50, 0.991, 0.01)]


class SetScores:
    """Best cosines of a set's questions (answerable and withheld) and the index's probe nulls."""

    def __init__(self, data, name: str, settings: Settings, embedder, english: bool = False,  # noqa: ANN001
                 limit: int | None = None):
        qset = load_set(data, name, settings)
        qs = [q for q in qset.questions if q.gold_sentence_ids]
        texts = [q.question for q in qs]
        lang = PAIR[name].split("→")[0]
        if english:
            translated = english_questions()
            qs = [q for q in qs if q.id in translated]
            texts, lang = [translated[q.id] for q in qs], "en"
        qs, texts = qs[:limit], texts[:limit]
        with set_index(settings, embedder, name, qset) as a:
            sv = stored_vectors(a)
            infos = a.index.catalog.article_infos(set(sv.art.tolist()))
            title = np.array([infos[x].title or x for x in sv.art], dtype=object)
            self.null = Abstention(a.index, embedder, None, settings.paths.probes_dir).nulls(lang)
        sims = embedder.embed_queries(texts) @ sv.S.T
        own = np.array([infos[q.article_id].title or q.article_id for q in qs], dtype=object)
        self.answerable = sims.max(1)
        self.withheld = np.where(title[None, :] != own[:, None], sims, -1.0).max(1)
        self.name, self.n = name, len(qs)

    def rates(self, q: float) -> tuple[float, float, float]:
        t = float(np.quantile(self.null, q))
        return t, float(np.mean(self.answerable < t)), float(np.mean(self.withheld >= t))


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("--write", action="store_true", help="store the chosen values in calibration.json")
    ap.add_argument("--max-wrong", type=float, default=0.05, help="most answerable questions refused")
    ap.add_argument("--limit", type=int, default=None, help="first N questions of each set (a smoke run; not with --write)")
    args = ap.parse_args(argv)
    if args.write and args.limit:
        ap.error("--write calibrates on every question: leave out --limit")
    data = shared_data(args.data, [TUNING_SET, *HELD_OUT])
    settings = Settings()
    embedder = build_embedder(settings.embedding, settings.paths)
    chosen: dict[str, float] = {}
    rows = []
    print(f"model {embedder.model_id}\n\ncalibration sets (the choice is made here):")
    print(f"{'pair':7s} {'set':34s} {'n':>4s} {'q':>5s} {'thr':>6s} {'wrongly abstained':>18s} {'withheld answered':>18s}")
    for pair, (name, english) in CALIBRATE.items():
        s = SetScores(data, name, settings, embedder, english, args.limit)
        ok = [q for q in GRID if s.rates(q)[1] <= args.max_wrong]
        chosen[pair] = max(ok) if ok else GRID[0]
        label = name + (" (English questions)" if english else "")
        for q in sorted({GRID[0], 0.8, 0.9, 0.95, chosen[pair]}):
            t, wrong, answered = s.rates(q)
            mark = " <- chosen" if q == chosen[pair] else ""
            rows.append({"pair": pair, "set": label, "n": s.n, "q": q, "threshold": t, "wrongly_abstained": wrong,
                         "withheld_answered": answered, "chosen": bool(mark)})
            print(f"{pair:7s} {label:34s} {s.n:4d} {q:5.2f} {t:6.3f} {wrong:18.3f} {answered:18.3f}{mark}")
    default = chosen["ar→ar"]
    print("\nheld-out sets (not used for the choice):")
    for name in HELD_OUT:
        pair = PAIR[name]
        s = SetScores(data, name, settings, embedder, limit=args.limit)
        q = chosen.get(pair, default)
        t, wrong, answered = s.rates(q)
        rows.append({"pair": pair, "set": name, "n": s.n, "q": q, "threshold": t, "wrongly_abstained": wrong,
                     "withheld_answered": answered, "held_out": True})
        print(f"{pair:7s} {name:34s} {s.n:4d} {q:5.2f} {t:6.3f} {wrong:18.3f} {answered:18.3f}")
    write_result(args.out, settings, args, {"model": embedder.model_id, "chosen": chosen, "default": default,
                                            "rows": rows})
    if args.write:
        path = update_calibration("abstention", embedder.model_id, {
            "quantiles": chosen, "default": default,
            "note": f"highest quantile refusing at most {args.max_wrong:.0%} of answerable questions: ar→ar on "
                    f"{TUNING_SET}, en→ar on its English translations (bench/data/tydi-en-questions.tsv); "
                    "en→en and ar→en take the default (the ar→ar value)",
        })
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
