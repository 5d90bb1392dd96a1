"""Train a LoRA adapter for EmbeddingGemma on CPU: questions against the sentence that answers them, with
the other sentences of the same paragraph as hard negatives.

The failure it targets: a sentence that paraphrases the question outranks the sentence of the same
paragraph that answers it (python -m bench.ranking_data shows 80% of XQuAD's first-citation misses are in the
gold paragraph). Training data: TyDi QA GoldP Arabic dev (``../shared/data/qa/tydiqa-goldp-ar-dev.json``,
Apache-2.0; questions written in Arabic by native speakers, not translated). No other dev set is used,
so figures on XQuAD (ar, en-ar, en) and ARCD stay held out; TyDi's own figures are training-set figures.

Per question: the query (EmbeddingGemma's query prompt), the gold sentence (the document format with the
article title, as indexed), and ``--negatives`` hard negatives: the non-gold sentences of the pool that
the base model scores highest, the same paragraph's first. Loss: InfoNCE over the batch's documents
(temperature ``--temperature``). Adapter: rank ``--rank`` on every linear layer of the transformer,
B initialised to zero (the untrained adapter is the base model), deterministic for a seed.

Needs the pools of bench/ranking_data.py made with the base model, no adapter
(``python -m bench.ranking_data --plain --sets tydiqa-goldp-ar-dev``: ``runs/ranking/tydiqa-goldp-ar-dev-<base
model tag>.pkl``); says so when they are missing. Writes the adapter
as ``assistant/models/adapters/<name>.npz`` (A and B per layer, float16) and ``<name>.json`` (how it was
made). The product merges it into the weights at load (assistant/models/lora.py): no runtime cost.

Usage: python -m tools.train_embedder_lora [--epochs 1] [--rank 8] [--lr 2e-4] [--batch 8] [--name NAME]
"""

from __future__ import annotations

import json
import pickle
import random
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

from assistant.models.embedding.factory import gemma_vector_id
from assistant.models.fetch import gemma_path
from assistant.models.lora import ADAPTERS, adapter_arrays, attach_lora
from assistant.settings import Settings
from bench.common import HELD_OUT, TUNING_SET, arguments, pools_path, write_result

if TYPE_CHECKING:
    import torch

TRAIN_SET = TUNING_SET
QUERY = "task: search result | query: "


def doc(text: str, title: str | None) -> str:
    t = " ".join((title or "").split())[:200] or "none"
    return f"title: {t} | text: {text}"


def examples(pools: dict, negatives: int, seed: int) -> list[tuple[str, str, list[str], str]]:
    """(query, positive, negatives, article id) per question whose gold sentence is known."""
    S = pools["sentences"]
    out = []
    for q in pools["questions"]:
        p = q["full"]
        gold = [s for s in q["gold"] if s in S]
        if not gold:
            continue
        order = np.argsort(-p["dense"], kind="stable")
        ranked = [p["sids"][i] for i in order if p["sids"][i] not in q["gold"]]
        same = [s for s in ranked if S[s]["article_id"] == q["article_id"]]
        other = [s for s in ranked if S[s]["article_id"] != q["article_id"]]
        negs = (same[: max(1, negatives - 1)] + other)[:negatives]
        g = S[gold[0]]
        out.append((QUERY + q["question"], doc(g["text"], g["title"]),
                    [doc(S[s]["text"], S[s]["title"]) for s in negs], q["article_id"]))
    random.Random(seed).shuffle(out)
    return out


def embed(model, texts: list[str]) -> torch.Tensor:  # noqa: ANN001
    feats = model.tokenize(texts)
    return model(feats)["sentence_embedding"]


def in_paragraph_hit1(model, data: list[tuple[str, str, list[str], str]]) -> float:  # noqa: ANN001
    """Share of validation questions whose gold sentence beats its hard negatives."""
    import torch

    model.eval()
    hits = 0
    with torch.no_grad():
        for qtext, pos, negs, _ in data:
            v = torch.nn.functional.normalize(embed(model, [qtext, pos, *negs]), dim=-1)
            s = v[1:] @ v[0]
            hits += int(torch.argmax(s).item() == 0)
    return hits / max(1, len(data))


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__, data=False)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16.0)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--negatives", type=int, default=3)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--validation", type=int, default=80, help="questions held out of training to watch it")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (faster on AVX-512 BF16)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default="gemma-tydi")
    args = ap.parse_args(argv)
    settings = Settings()
    plain = settings.replace(embedding={"backend": "gemma", "adapter": None})  # the base model's pools
    src = pools_path(TRAIN_SET, gemma_vector_id(plain.embedding))
    if not src.exists():
        print(f"{src} is missing: run python -m bench.ranking_data --plain --sets {TRAIN_SET} first", file=sys.stderr)
        return 2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model = SentenceTransformer(str(gemma_path(settings.paths.models)), device="cpu")
    model.max_seq_length = args.max_tokens
    with open(src, "rb") as f:
        data = examples(pickle.load(f), args.negatives, args.seed)
    val, train = data[: args.validation], data[args.validation:]
    for p in model.parameters():
        p.requires_grad_(False)
    layers = attach_lora(model[0].auto_model, args.rank, args.alpha, seed=args.seed)
    params = [p for m in layers.values() for p in (m.lora_a, m.lora_b)]
    print(f"{len(train)} training questions, {len(val)} validation; {len(layers)} adapted layers, "
          f"{sum(p.numel() for p in params)} parameters", flush=True)
    base_val = in_paragraph_hit1(model, val)
    print(f"validation in-paragraph hit@1 before: {base_val:.3f}", flush=True)
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    steps = int(len(train) * args.epochs / args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, steps // 10))
                                              * max(0.0, 1 - s / max(1, steps)))
    t0 = time.perf_counter()
    for step in range(steps):
        model.train()
        i = (step * args.batch) % len(train)
        batch = (train + train)[i: i + args.batch]
        queries = [b[0] for b in batch]
        docs = [b[1] for b in batch] + [n for b in batch for n in b[2]]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            qv = embed(model, queries)
            dv = embed(model, docs)
        qv = torch.nn.functional.normalize(qv.float(), dim=-1)
        dv = torch.nn.functional.normalize(dv.float(), dim=-1)
        logits = qv @ dv.T / args.temperature
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step + 1}/{steps} loss {loss.item():.3f} {time.perf_counter() - t0:.0f} s", flush=True)
    after = in_paragraph_hit1(model, val)
    print(f"validation in-paragraph hit@1 after: {after:.3f} (before {base_val:.3f})", flush=True)
    out = ADAPTERS
    out.mkdir(parents=True, exist_ok=True)
    arrays = adapter_arrays(layers)
    np.savez_compressed(out / f"{args.name}.npz", **arrays)
    meta = {
        "name": args.name, "base_model": "google/embeddinggemma-300m (the PyPI-wheel copy of assistant models fetch)",
        "rank": args.rank, "alpha": args.alpha, "layers": sorted(layers),
        "trained_on": f"{TRAIN_SET} (TyDi QA GoldP Arabic dev, Apache-2.0): {len(train)} questions",
        "held_out": ", ".join(HELD_OUT),
        "validation_in_paragraph_hit1": {"before": round(base_val, 4), "after": round(after, 4),
                                         "questions": len(val)},
        "command": "python -m tools.train_embedder_lora " + " ".join(sys.argv[1:] if argv is None else argv),
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "seconds": round(time.perf_counter() - t0),
    }
    (out / f"{args.name}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out / args.name}.npz ({(out / f'{args.name}.npz').stat().st_size / 1e6:.1f} MB)")
    write_result(args.out, settings, args, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
