"""Train the span reader's head (assistant/answer/short/span_reader.py) on TyDi QA GoldP Arabic.

The embedding model stays frozen: its token states for (question, sentence) pairs are computed once and
cached (runs/short/feats-<set>.pkl), then a small head learns the answer's start and end tokens, and the
first token as the null for sentences that do not answer. Each TyDi question gives its gold sentence and
up to two other sentences of its passage as negatives. 15% of the TyDi questions are held out to stop
training; the dev sets (xquad-dev.*, arcd-train) are only read with ``--eval``, with the gold sentence
given (the end-to-end figures come from ``python -m bench.short_answers``).

    python -m tools.train_span_reader --write            # features (~4 min), training (~1 min), the head
    python -m tools.train_span_reader --eval xquad-dev.ar xquad-dev.en arcd-train

TyDi trained this head: never report a figure on tydiqa-goldp-ar-dev.
"""

from __future__ import annotations

import json
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np

from assistant.answer.short.span_reader import (
    LAYERS,
    LORA_PREFIX,
    ReaderHead,
    SpanReader,
    featurize,
    reader_path,
)
from assistant.evaluation.metrics import exact_match, f1_score
from assistant.models.embedding.factory import build_embedder
from assistant.settings import Settings
from assistant.text.sentences import split_article
from bench.common import HELD_OUT, ROOT, TUNING_SET, arguments, english_questions, set_file, shared_data, write_result

OUT = ROOT / "runs" / "short"
TRAIN_SET = TUNING_SET
NAME = "gemma-tydi-span"


def examples(data_dir: Path, set_name: str, negatives: int, seed: int = 0) -> list[dict]:
    """(question, sentence, answer char span in the sentence or None, gold answers, question id) rows."""
    rng = random.Random(seed)
    data = json.loads(set_file(data_dir, set_name).read_text(encoding="utf-8"))["data"]
    rows = []
    for entry in data:
        for pi, para in enumerate(entry["paragraphs"]):
            ctx = para["context"]
            sents = split_article(f"p{pi}", ctx)
            for qa in para["qas"]:
                ans = qa["answers"][0]
                a0 = ans["answer_start"]
                a1 = a0 + len(ans["text"])
                gold = next((s for s in sents if s.start <= a0 < s.end), None)
                if gold is None:
                    continue
                answers = [a["text"] for a in qa["answers"]]
                rows.append(dict(qid=qa["id"], question=qa["question"], sentence=gold.text,
                                 span=(a0 - gold.start, min(a1, gold.end) - gold.start), answers=answers))
                others = [s for s in sents if s is not gold and len(s.text) > 20
                          and not any(a and a in s.text for a in answers)]
                for s in rng.sample(others, min(negatives, len(others))):
                    rows.append(dict(qid=qa["id"], question=qa["question"], sentence=s.text, span=None,
                                     answers=answers))
    return rows


def features(set_name: str, rows: list[dict], embedder) -> list:
    path = OUT / f"feats-{set_name}-{len(rows)}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    st = embedder.model
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["question"]) + len(rows[i]["sentence"]))
    feats: list = [None] * len(rows)
    t0 = time.perf_counter()
    for b in range(0, len(order), 16):
        idx = order[b:b + 16]
        out = featurize(st[0].auto_model, st.tokenizer, [(rows[i]["question"], rows[i]["sentence"]) for i in idx])
        for i, f in zip(idx, out):
            f.states = f.states.astype(np.float16)
            feats[i] = f
        if b % 320 == 0:
            print(f"  {set_name}: {b + len(idx)}/{len(rows)} pairs, {time.perf_counter() - t0:.0f} s", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(feats))
    return feats


def labels(f, span) -> tuple[int, int]:
    """Token indices of the answer's start and end (0, 0: the null)."""
    if span is None:
        return 0, 0
    a, e = span
    inside = [t for t in range(len(f.spans)) if f.spans[t, 0] >= 0]
    s_tok = next((t for t in inside if f.spans[t, 1] > a), None)
    e_tok = next((t for t in reversed(inside) if f.spans[t, 0] < e), None)
    if s_tok is None or e_tok is None or e_tok < s_tok:
        return 0, 0
    return s_tok, e_tok


def _head_module(dim: int, hidden: int):
    import torch

    class Head(torch.nn.Module):
        """The torch twin of assistant.answer.short.span_reader.ReaderHead."""

        def __init__(self):
            super().__init__()
            self.l1 = torch.nn.Linear(dim, hidden)
            self.l2 = torch.nn.Linear(3 * hidden, 2)
            self.drop = torch.nn.Dropout(0.2)

        def forward(self, x):
            z = torch.nn.functional.gelu(self.l1(self.drop(x)), approximate="tanh")
            zp = torch.nn.functional.pad(z, (0, 0, 1, 1))
            ctx = torch.cat([zp[:-2], z, zp[2:]], dim=1)
            return self.l2(self.drop(ctx))

    return Head()


def _loss(out, spans, span):
    """Cross-entropy of the start and the end over the null and the sentence's tokens."""
    import torch

    class _F:  # labels() reads .spans only
        pass

    f = _F()
    f.spans = spans
    s, e = labels(f, span)
    inside = np.flatnonzero(spans[:, 0] >= 0)
    cand = torch.tensor(np.concatenate([[0], inside]))
    ys, ye = int(np.flatnonzero(cand.numpy() == s)[0]), int(np.flatnonzero(cand.numpy() == e)[0])
    o = out[cand]
    return torch.nn.functional.cross_entropy(o[:, 0][None], torch.tensor([ys])) + \
        torch.nn.functional.cross_entropy(o[:, 1][None], torch.tensor([ye]))


def head_arrays(head, mu, sd) -> dict[str, np.ndarray]:
    return {"mu": mu, "sd": sd, "w1": head.l1.weight.detach().numpy().T.copy(),
            "b1": head.l1.bias.detach().numpy().copy(), "w2": head.l2.weight.detach().numpy().T.copy(),
            "b2": head.l2.bias.detach().numpy().copy()}


def train(feats, rows, val_qids, hidden: int, epochs: int, lr: float, *, embedder=None, rank: int = 0,
          lora_lr: float = 2e-4, batch: int = 8, seed: int = 0):
    """Train the head on cached states (``rank`` 0), or the head and a rank-``rank`` LoRA adapter of the
    transformer together (states computed on the fly). Returns (best held-out F1, arrays, epoch, EM)."""
    import torch

    from assistant.answer.short.span_reader import hidden_states, tokenize_pairs
    from assistant.models.lora import adapter_arrays, attach_lora

    torch.manual_seed(seed)
    dim = feats[0].states.shape[1]
    allx = np.concatenate([f.states.astype(np.float32) for f in feats])
    mu, sd = allx.mean(0), allx.std(0) + 1e-4
    mu_t, sd_t = torch.tensor(mu), torch.tensor(sd)
    head = _head_module(dim, hidden)
    params = [{"params": head.parameters(), "lr": lr}]
    layers = {}
    if rank:
        st = embedder.model
        model = st[0].auto_model
        for p in model.parameters():
            p.requires_grad_(False)
        layers = attach_lora(model, rank, 2.0 * rank, seed=seed)
        params.append({"params": [p for m in layers.values() for p in (m.lora_a, m.lora_b)], "lr": lora_lr})
    opt = torch.optim.AdamW(params, weight_decay=0.01)
    train_i = [i for i, r in enumerate(rows) if r["qid"] not in val_qids]
    val_i = [i for i, r in enumerate(rows) if r["qid"] in val_qids]
    best = (-1.0, None, 0, 0.0)
    t0 = time.perf_counter()
    for ep in range(epochs):
        head.train()
        if rank:
            model.train()
            # batches of similar length (less padding), in a shuffled order
            order = sorted(train_i, key=lambda i: len(rows[i]["question"]) + len(rows[i]["sentence"]))
            batches = [order[b:b + batch] for b in range(0, len(order), batch)]
        else:
            order = list(train_i)
            random.Random(ep).shuffle(order)
            batches = [order[b:b + 32] for b in range(0, len(order), 32)]
        random.Random(ep).shuffle(batches)
        total = 0.0
        for bi, idx in enumerate(batches):
            opt.zero_grad()
            loss = 0.0
            if rank:
                enc, all_idx, all_spans = tokenize_pairs(st.tokenizer, [(rows[i]["question"], rows[i]["sentence"])
                                                                        for i in idx])
                h = hidden_states(model, enc, bf16=True)
                for b, i in enumerate(idx):
                    x = (h[b, torch.tensor(all_idx[b])] - mu_t) / sd_t
                    loss = loss + _loss(head(x), all_spans[b], rows[i]["span"])
            else:
                for i in idx:
                    f = feats[i]
                    x = (torch.tensor(f.states.astype(np.float32)) - mu_t) / sd_t
                    loss = loss + _loss(head(x), f.spans, rows[i]["span"])
            loss = loss / len(idx)
            loss.backward()
            opt.step()
            total += float(loss.detach())
            if rank and bi % 25 == 0:
                print(f"  epoch {ep + 1} batch {bi + 1}/{len(batches)} loss {total / (bi + 1):.3f} "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
        head.eval()
        arrays = head_arrays(head, mu, sd)
        if rank:
            model.eval()
            val_feats = {i: f for i, f in zip(val_i, _states(model, st.tokenizer, [rows[i] for i in val_i]))}
            em, f1 = score(ReaderHead(arrays), [val_feats[i] for i in val_i], [rows[i] for i in val_i])
            arrays.update({f"{LORA_PREFIX}{k}": v for k, v in adapter_arrays(layers).items()})
        else:
            em, f1 = score(ReaderHead(arrays), feats, rows, keep=val_qids)
        print(f"epoch {ep + 1}: loss {total / max(1, len(batches)):.3f}  held-out TyDi EM {em:.3f} F1 {f1:.3f}",
              flush=True)
        if f1 > best[0]:
            best = (f1, arrays, ep + 1, em)
    return best


def _states(model, tokenizer, rows: list[dict]) -> list:
    out = []
    for b in range(0, len(rows), 16):
        out.extend(featurize(model, tokenizer, [(r["question"], r["sentence"]) for r in rows[b:b + 16]]))
    return out


def score(head: ReaderHead, feats, rows, keep=None) -> tuple[float, float]:
    """EM/F1 of the best span over each question's sentences (gold + negatives), as the answerer does it."""
    reader = SpanReader(None, None, head)
    by_q: dict[str, list[tuple[float, str]]] = {}
    answers: dict[str, list[str]] = {}
    for f, r in zip(feats, rows):
        if keep is not None and r["qid"] not in keep:
            continue
        answers[r["qid"]] = r["answers"]
        g = reader.best_span(type(f)(states=f.states.astype(np.float32), spans=f.spans))
        if g is not None:
            by_q.setdefault(r["qid"], []).append((g.score, r["sentence"][g.start:g.end]))
    ems, f1s = [], []
    for q, golds in answers.items():
        pred = max(by_q.get(q, [(0.0, "")]))[1]
        ems.append(exact_match(pred, golds))
        f1s.append(f1_score(pred, golds))
    return float(np.mean(ems)), float(np.mean(f1s))


def english_rows(rows: list[dict]) -> list[dict]:
    """The TyDi rows again with the English questions of bench/data/tydi-en-questions.tsv (translations
    of 100 of its questions; the Arabic sentences stay): English questions over Arabic sentences."""
    english = english_questions()
    return [{**r, "qid": r["qid"] + ":en", "question": english[r["qid"]]} for r in rows if r["qid"] in english]


def evaluate(embedder, data_dir: Path, name: str, negatives: int) -> dict:
    """EM/F1 of the shipped reader on a dev set, the gold sentence given, with and without negatives
    (the same path as the answerer: SpanReader.guesses over a question's sentences, best score wins)."""
    reader = SpanReader.load(embedder, NAME, embedder.model_id)
    rows = examples(data_dir, name, negatives)
    by_q: dict[str, list[dict]] = {}
    for r in rows:
        by_q.setdefault(r["qid"], []).append(r)
    ems, f1s, ems_g, f1s_g = [], [], [], []
    for rs in by_q.values():
        guesses = reader.guesses(rs[0]["question"], [r["sentence"] for r in rs])
        cands = [(g.score, r["sentence"][g.start:g.end], r["span"] is not None) for g, r in zip(guesses, rs) if g]
        pred = max(cands)[1] if cands else ""
        gold_pred = next((c[1] for c in cands if c[2]), "")
        ems.append(exact_match(pred, rs[0]["answers"]))
        f1s.append(f1_score(pred, rs[0]["answers"]))
        ems_g.append(exact_match(gold_pred, rs[0]["answers"]))
        f1s_g.append(f1_score(gold_pred, rs[0]["answers"]))
    return {"set": name, "questions": len(by_q), "gold_alone_em": float(np.mean(ems_g)),
            "gold_alone_f1": float(np.mean(f1s_g)), "negatives": negatives, "em": float(np.mean(ems)),
            "f1": float(np.mean(f1s))}


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("--write", action="store_true", help=f"write the reader to {reader_path(NAME)}")
    ap.add_argument("--eval", nargs="*", default=[], metavar="SET",
                    help=f"dev sets to score with the gold sentence given (e.g. {' '.join(HELD_OUT)})")
    ap.add_argument("--negatives", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--rank", type=int, default=0, help="LoRA rank of the transformer trained with the head (0: frozen)")
    ap.add_argument("--lora-lr", type=float, default=2e-4)
    ap.add_argument("--english", action="store_true", help="also train on the English TyDi questions")
    args = ap.parse_args(argv)
    data = shared_data(args.data, [TRAIN_SET, *args.eval])
    # training needs the torch model (gradients through the adapter): the torch runtime, whatever the default
    settings = Settings().replace(embedding={"runtime": "torch"})
    embedder = build_embedder(settings.embedding, settings.paths)
    model_id = embedder.model_id
    rows = examples(data, TRAIN_SET, args.negatives)
    feats = features(TRAIN_SET, rows, embedder)
    if args.english:
        extra = english_rows(rows)
        rows, feats = rows + extra, feats + features(TRAIN_SET + "-en", extra, embedder)
    qids = sorted({r["qid"].removesuffix(":en") for r in rows})
    val = set(random.Random(1).sample(qids, len(qids) * 15 // 100))
    val |= {q + ":en" for q in val}
    if args.write:
        f1, arrays, ep, em = train(feats, rows, val, args.hidden, args.epochs, args.lr, embedder=embedder,
                                   rank=args.rank, lora_lr=args.lora_lr)
        print(f"best: epoch {ep}, held-out TyDi EM {em:.3f} F1 {f1:.3f}")
        path = reader_path(NAME)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{k: v.astype(np.float16 if k.startswith(LORA_PREFIX) else np.float32)
                                     for k, v in arrays.items()})
        card = {"name": NAME, "model_id": model_id, "layers": list(LAYERS),
                "trained_on": TRAIN_SET + (" + 100 of its questions in English (bench/data/tydi-en-questions.tsv)"
                                           if args.english else ""),
                "held_out": "15% of its questions (seed 1) chose the epoch", "epochs": ep, "lora_rank": args.rank,
                "held_out_em": round(em, 4), "held_out_f1": round(f1, 4), "negatives_per_question": args.negatives,
                "hidden": args.hidden, "min_confidence": 0.0,
                "note": f"TyDi trained this reader: report no figure on {TRAIN_SET}",
                "command": "python -m tools.train_span_reader " + " ".join(sys.argv[1:] if argv is None else argv)}
        path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
        if args.rank and args.eval:
            # a clean model: the trained adapter is still attached
            embedder = build_embedder(settings.embedding, settings.paths)
    scores = []  # the --eval sets
    for name in args.eval:
        r = evaluate(embedder, data, name, args.negatives)
        scores.append(r)
        print(f"{name}: {r['questions']} questions; gold sentence alone EM {r['gold_alone_em']:.3f} F1 "
              f"{r['gold_alone_f1']:.3f}; gold sentence + {r['negatives']} others of its paragraph EM {r['em']:.3f} "
              f"F1 {r['f1']:.3f}", flush=True)
    write_result(args.out, settings, args, {"eval": scores})
    return 0


if __name__ == "__main__":
    sys.exit(main())
