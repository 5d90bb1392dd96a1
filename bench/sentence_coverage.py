"""Share of gold answers that fall inside one sentence of our splitter, on the shared dev sets.

    python -m bench.sentence_coverage [--sets ...] [--out FILE]
"""

from __future__ import annotations

import json
import sys

from assistant.text.sentences import split_sentences
from bench.common import DEV_SETS, arguments, set_file, shared_data, write_result


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, sets=DEV_SETS).parse_args(argv)
    data = shared_data(args.data, args.sets)
    print(f"{'set':24s} {'answers':>8s} {'inside one sentence':>20s} {'sentences':>10s}")
    results = {}
    for name in args.sets:
        squad = json.loads(set_file(data, name).read_text(encoding="utf-8"))
        total = inside = n_sent = 0
        for entry in squad["data"]:
            for para in entry["paragraphs"]:
                spans = split_sentences(para["context"])
                n_sent += len(spans)
                for qa in para["qas"]:
                    for ans in qa["answers"][:1]:
                        s = ans["answer_start"]
                        e = s + len(ans["text"])
                        total += 1
                        inside += any(sp.start <= s and e <= sp.end for sp in spans)
        results[name] = {"answers": total, "inside_one_sentence": inside / total, "sentences": n_sent}
        print(f"{name:24s} {total:8d} {inside / total:19.1%} {n_sent:10d}")
    write_result(args.out, None, args, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
