"""Write the text the int8 sentence graph is calibrated on (assistant/models/embedding/int8-calibration.txt).

NNCF's post-training quantization (assistant/models/embedding/int8.py) needs a few hundred inputs like
those the model will see. They ship with the package, so a user's machine builds the int8 graph offline:
sentences of TyDi QA GoldP passages (Apache-2.0): Arabic from its Arabic dev set, English from its English
train set, half and half, shuffled with a fixed seed. Neither set is one we report figures on.

    python -m tools.int8_calibration [--sentences 300]
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from assistant.resources import shipped
from assistant.text.sentences import split_article
from bench.common import arguments, shared_data

SOURCES = ("qa/tydiqa-goldp-ar-dev.json", "train/tydiqa-goldp-en-train.json")
OUT = shipped("models/embedding/int8-calibration.txt")
HEADER = ("# Calibration text of the int8 sentence graph (assistant/models/embedding/int8.py), one sentence a line.\n"
          "# From TyDi QA GoldP (Apache-2.0, https://github.com/google-research-datasets/tydiqa): passages of the\n"
          "# Arabic dev set and of the English train set. Written by tools/int8_calibration.py.\n")


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, out=None)
    ap.add_argument("--sentences", type=int, default=300)
    args = ap.parse_args(argv)
    data = shared_data(args.data, need="train")
    rng = random.Random(7)
    lines: list[str] = []
    for name in SOURCES:
        found = [s.text for entry in json.loads((data / name).read_text(encoding="utf-8"))["data"]
                 for i, para in enumerate(entry["paragraphs"]) for s in split_article(f"p{i}", para["context"])
                 if 20 <= len(s.text) <= 400 and "\n" not in s.text]
        rng.shuffle(found)
        lines += found[: args.sentences // len(SOURCES)]
    rng.shuffle(lines)
    out = Path(args.out or OUT)
    out.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} sentences to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
