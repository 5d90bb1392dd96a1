"""Share of gold answers that fall inside one sentence of our splitter, on the shared dev sets.

Usage: python bench/sentence_coverage.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.text.sentences import split_sentences

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "qa"


def main() -> int:
    if not SHARED.exists():
        print(f"skipped: {SHARED} is absent")
        return 0
    print(f"{'set':24s} {'answers':>8s} {'inside one sentence':>20s} {'sentences':>10s}")
    for path in sorted(SHARED.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        total = inside = n_sent = 0
        for entry in data["data"]:
            for para in entry["paragraphs"]:
                spans = split_sentences(para["context"])
                n_sent += len(spans)
                for qa in para["qas"]:
                    for ans in qa["answers"][:1]:
                        s = ans["answer_start"]
                        e = s + len(ans["text"])
                        total += 1
                        inside += any(sp.start <= s and e <= sp.end for sp in spans)
        print(f"{path.stem:24s} {total:8d} {inside / total:19.1%} {n_sent:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
