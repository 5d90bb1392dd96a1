"""Write the text the int8 sentence graph is calibrated on (assistant/models/embedding/int8-calibration.txt).

NNCF's post-training quantization (assistant/models/embedding/int8.py) needs a few hundred inputs like
those the model will see, framed as the model sees them: with their article's title (the title's tokens
come first in every framed sentence; calibrating without them cost 0.022 of hit@1 on xquad-dev.ar). They
ship with the package, so a user's machine builds the int8 graph offline: 600 sentences drawn from the
contexts of two training sets, pooled and shuffled with a fixed seed, with their titles: MLQA's Arabic dev
set (CC BY-SA 3.0) and TyDi QA GoldP's English train set (Apache-2.0). Neither is a set we report on.
(TyDi QA's Arabic dev set in place of MLQA's was measured too: hit@1 on xquad-dev.en fell 0.013; README.)

    python -m tools.int8_calibration [--sentences 600]
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from assistant.resources import shipped
from assistant.text.sentences import split_article
from bench.common import arguments, shared_data

SOURCES = ("train/mlqa-dev-ar.json", "train/tydiqa-goldp-en-train.json")
OUT = shipped("models/embedding/int8-calibration.txt")
HEADER = ("# Calibration text of the int8 sentence graph (assistant/models/embedding/int8.py): a line is a title,\n"
          "# a tab and a sentence of the article of that title.\n"
          "# Arabic: MLQA dev (CC BY-SA 3.0, Lewis et al. 2020, https://github.com/facebookresearch/MLQA); English:\n"
          "# TyDi QA GoldP train (Apache-2.0, https://github.com/google-research-datasets/tydiqa). This file is under\n"
          "# CC BY-SA 3.0 as MLQA's text is. Written by tools/int8_calibration.py.\n")


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, out=None)
    ap.add_argument("--sentences", type=int, default=600)
    args = ap.parse_args(argv)
    data = shared_data(args.data, need="train")
    found: list[tuple[str, str]] = []
    for name in SOURCES:
        for entry in json.loads((data / name).read_text(encoding="utf-8"))["data"]:
            title = " ".join((entry.get("title") or "").split())[:200] or "none"
            found += [(title, s.text.replace("\t", " ").replace("\n", " ")) for i, para in enumerate(entry["paragraphs"])
                      for s in split_article(f"p{i}", para["context"])]
    random.Random(1).shuffle(found)
    lines = [f"{title}\t{text}" for title, text in found[: args.sentences]]
    out = Path(args.out or OUT)
    out.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} sentences to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
