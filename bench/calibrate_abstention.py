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

Needs the indexes of bench/retrieval_hits.py for the configured model. ``--write`` stores the values in
assistant/models/calibration.json under the model's id.

Usage: python bench/calibrate_abstention.py [--write] [--max-wrong 0.05]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from benchlib import bench_index

from assistant import Assistant, Settings
from assistant.evaluation.qasets import load_squad
from assistant.models.embedding.factory import build_embedder
from assistant.models.fetch import probes_dir
from assistant.retrieve.refusal import Abstention

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "qa"
CALIBRATION = ROOT / "assistant" / "models" / "calibration.json"
TRANSLATED = ROOT / "bench" / "data" / "tydi-en-questions.tsv"
CALIBRATE = {"ar→ar": ("tydiqa-goldp-ar-dev", None), "en→ar": ("tydiqa-goldp-ar-dev", TRANSLATED)}
HELD_OUT = {"xquad-dev.ar": "ar→ar", "xquad-dev.en-ar": "en→ar", "xquad-dev.en": "en→en", "arcd-train": "ar→ar"}
GRID = [round(x, 3) for x in np.arange(0.50, 0.991, 0.01)]


class SetScores:
    """Best cosines of a set's questions (answerable and withheld) and the index's probe nulls."""

    def __init__(self, name: str, settings: Settings, embedder, translated: Path | None = None):  # noqa: ANN001
        path = bench_index(settings, name, embedder.vector_id)
        if not path.exists():
            raise SystemExit(f"{path} is missing: run bench/retrieval_hits.py first")
        qs = load_squad(SHARED / f"{name}.json", settings.chunking.max_sentence_chars).questions
        qs = [q for q in qs if q.gold_sentence_ids]
        texts = [q.question for q in qs]
        lang = "en" if name.endswith(".en") or name.endswith(".en-ar") else "ar"
        if translated is not None:
            english = dict(line.rstrip("\n").split("\t", 1) for line in translated.open(encoding="utf-8") if line.strip())
            qs = [q for q in qs if q.id in english]
            texts, lang = [english[q.id] for q in qs], "en"
        with Assistant.open(path, settings=settings, embedder=embedder) as a:
            cat, vec = a.index.catalog, a.index.vectors
            rows = [r for batch in cat.iter_sentence_rows("tokens") for r in batch]
            sids = [r[0] for r in rows]
            sv = vec.vectors("sentences", sids)
            S = np.stack([sv[s] for s in sids])
            S /= np.linalg.norm(S, axis=1, keepdims=True)
            infos = cat.article_infos({r[1] for r in rows})
            title = np.array([infos[r[1]].title or r[1] for r in rows], dtype=object)
            self.null = Abstention(a.index, embedder, None, probes_dir()).nulls(lang)
        Q = embedder.embed_queries(texts)
        sims = Q @ S.T
        own = np.array([infos[q.article_id].title or q.article_id for q in qs], dtype=object)
        self.answerable = sims.max(1)
        self.withheld = np.where(title[None, :] != own[:, None], sims, -1.0).max(1)
        self.name, self.n = name, len(qs)

    def rates(self, q: float) -> tuple[float, float, float]:
        t = float(np.quantile(self.null, q))
        return t, float(np.mean(self.answerable < t)), float(np.mean(self.withheld >= t))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="store the chosen values in calibration.json")
    ap.add_argument("--max-wrong", type=float, default=0.05, help="most answerable questions refused")
    args = ap.parse_args()
    if not SHARED.exists():
        print(f"skipped: {SHARED} is absent (the shared dev sets live beside the project)")
        return 0
    settings = Settings()
    embedder = build_embedder(settings.embedding)
    chosen: dict[str, float] = {}
    print(f"model {embedder.model_id}\n\ncalibration sets (the choice is made here):")
    print(f"{'pair':7s} {'set':34s} {'n':>4s} {'q':>5s} {'thr':>6s} {'wrongly abstained':>18s} {'withheld answered':>18s}")
    for pair, (name, translated) in CALIBRATE.items():
        s = SetScores(name, settings, embedder, translated)
        ok = [q for q in GRID if s.rates(q)[1] <= args.max_wrong]
        chosen[pair] = max(ok) if ok else GRID[0]
        label = name + (" (English questions)" if translated else "")
        for q in sorted({GRID[0], 0.8, 0.9, 0.95, chosen[pair]}):
            t, wrong, answered = s.rates(q)
            mark = " <- chosen" if q == chosen[pair] else ""
            print(f"{pair:7s} {label:34s} {s.n:4d} {q:5.2f} {t:6.3f} {wrong:18.3f} {answered:18.3f}{mark}")
    default = chosen["ar→ar"]
    print("\nheld-out sets (not used for the choice):")
    for name, pair in HELD_OUT.items():
        s = SetScores(name, settings, embedder)
        q = chosen.get(pair, default)
        t, wrong, answered = s.rates(q)
        print(f"{pair:7s} {name:34s} {s.n:4d} {q:5.2f} {t:6.3f} {wrong:18.3f} {answered:18.3f}")
    if args.write:
        data = json.loads(CALIBRATION.read_text(encoding="utf-8"))
        data["abstention"]["models"][embedder.model_id] = {
            "quantiles": chosen, "default": default,
            "note": f"highest quantile refusing at most {args.max_wrong:.0%} of answerable questions: ar→ar on "
                    "tydiqa-goldp-ar-dev, en→ar on its English translations (bench/data/tydi-en-questions.tsv); "
                    "en→en and ar→en take the default (the ar→ar value)",
        }
        CALIBRATION.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote {CALIBRATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
