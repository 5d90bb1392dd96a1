"""The span reader's confidence threshold: show a short answer only where it beats the whole answer.

Reads the results.json of an end-to-end run of the reader with no threshold (``bench/short_answers.py
--sets tydiqa-goldp-ar-dev --producers reader --save DIR`` with ``ASSISTANT_ANSWER__SHORT_MIN_CONFIDENCE=0``)
and, for each candidate threshold, the mean F1 a reader gets (the short answer when its confidence
reaches the threshold, else the whole answer). The threshold kept is the largest one whose F1 is within
0.005 of the best, so doubtful short answers are left out when they do not help; ``--write`` puts it
into the reader's card (assistant/models/readers/<name>.json, ``min_confidence``).

Tune on the training set only (TyDi trained the reader): never on a set a figure is reported for.

    python bench/short_threshold.py runs/short/tune/tydiqa-goldp-ar-dev-reader/results.json [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answer.short.span_reader import reader_path  # noqa: E402
from assistant.settings import AnswerSettings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    qs = [q for q in json.loads(Path(args.results).read_text(encoding="utf-8"))["questions"]
          if q["kind"] == "answerable" and q["f1"] is not None]
    table = []
    for t in [i / 100 for i in range(0, 100, 2)]:
        f1 = [q["short_f1"] if q["short"] and q["short"]["confidence"] >= t else q["f1"] for q in qs]
        cov = sum(bool(q["short"] and q["short"]["confidence"] >= t) for q in qs) / len(qs)
        table.append((t, sum(f1) / len(f1), cov))
    best = max(f for _, f, _ in table)
    chosen = max(t for t, f, _ in table if f >= best - 0.005)
    for t, f, cov in table:
        if t <= 0.5 or t == chosen:
            print(f"threshold {t:.2f}: F1 {f:.3f}, coverage {cov:.3f}" + ("   <- kept" if t == chosen else ""))
    if args.write:
        card_path = reader_path(AnswerSettings().short_reader).with_suffix(".json")
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card["min_confidence"] = chosen
        card["min_confidence_from"] = f"bench/short_threshold.py on {Path(args.results).parent.name} ({len(qs)} questions)"
        card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        print(f"wrote min_confidence {chosen} into {card_path}")


if __name__ == "__main__":
    main()
