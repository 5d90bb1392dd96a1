"""The local LLM's speed: seconds to the first generated token and to the full cited answer, p50/p95,
old and new configuration in one run, on the same dev questions.

    python -m bench.llm_latency [--n 30] [--model PATH.gguf] [--out runs/llm-latency.json]

The questions are the first ``n/3`` of xquad-dev.ar, xquad-dev.en-ar and xquad-dev.en, asked in turn
(Arabic, English over Arabic, English: the answer prompt's language changes from one question to the
next, as in a mixed chat). Each set is asked against its eval index (``assistant eval`` builds it; built
here when missing). The model is the Qwen2.5-Coder-1.5B GGUF of scripts/fetch_qwen.py (under
``paths.models``) unless named.

- **old**: the configuration before issue 13: llama.cpp's default thread count (half the logical
  CPUs), eight sources, 400 new tokens at most, the answer prompts of commit 5c64294 (the number of
  sources inside the system prompt, so its tokens differ with the sources).
- **new**: the settings' defaults (``llm.threads`` unset: the physical cores; the sources and
  new-token limits of ``answer.max_sources`` and ``llm.max_tokens``; the shipped prompts; the fixed
  system prompt's state kept per language).

First token: from ``ask_stream`` to the first text the LLM streams (retrieval, the prompt and its
reading included); full: to the finished answer (the citation check and the short answer included).
Questions the retrieval abstains on never reach the LLM: they are counted, not timed. Beside the times,
whether the answer contains a gold answer string (``assistant eval``'s ``contains``), so that a faster
configuration is not a worse one unseen. Before the timed questions, one extractive question per set
and configuration (untimed) compiles the embedder and the span reader. The two
configurations alternate question by question (old, new, old, ...), so a slow spell of the machine
falls on both.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant import Settings
from assistant.evaluation.metrics import percentile
from assistant.evaluation.results import score_answer
from assistant.models.chat import llama_messages
from assistant.models.embedding.factory import build_embedder
from assistant.models.fetch import qwen_path
from assistant.models.llm import build_llm
from bench.common import ROOT, XQUAD, arguments, load_set, set_index, shared_data, write_result

SETS = XQUAD
OLD_COMMIT = "5c64294"  # the last commit with the old answer prompts
OLD_PROMPTS = ("answer.system.ar.txt", "answer.system.en.txt", "answer.user.ar.txt", "answer.user.en.txt")


class TimedChat:
    """The chat model, unchanged, with the time of its first streamed text and the prompt's length in
    tokens recorded (measurement at the LLM boundary)."""

    def __init__(self, chat: Any):
        self.chat = chat
        self.name, self.serial = chat.name, chat.serial
        self.first: float | None = None
        self.prompt_tokens = 0

    def stream(self, messages, timeout):
        model = self.chat.client._model
        prompt = self.chat.client.messages_to_prompt(llama_messages(messages))
        self.prompt_tokens = len(model.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
        for delta in self.chat.stream(messages, timeout):
            if self.first is None:
                self.first = time.perf_counter()
            yield delta

    def complete(self, messages, timeout):
        return self.chat.complete(messages, timeout)


def old_prompts(dest: Path) -> Path:
    """The answer prompts as they were at OLD_COMMIT, written into ``dest`` (a prompts_dir)."""
    for name in OLD_PROMPTS:
        try:
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:prompts/{name}"], check=True,
                                  capture_output=True, encoding="utf-8").stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise SystemExit(f"cannot read prompts/{name} at commit {OLD_COMMIT} (a git clone with history is "
                             f"needed for the old configuration): {e}") from e
        (dest / name).write_text(text, encoding="utf-8")
    return dest


def configured(base: Settings, name: str, model: Path, prompts: Path) -> Settings:
    llm = {"provider": "llamacpp", "model": str(model), "timeout": 600.0}
    answer: dict[str, Any] = {}
    if name == "old":
        # llama-cpp-python's default thread count: half the CPUs (1 here)
        llm.update(threads=max((os.cpu_count() or 2) // 2, 1), max_tokens=400, prompts_dir=prompts, prompt_cache=False)
        answer.update(max_sources=8)
    return base.replace(llm=llm, answer=answer)


def main(argv: list[str] | None = None) -> int:
    ap = arguments(__doc__)
    ap.add_argument("--n", type=int, default=30, help="questions in all (a third from each set)")
    ap.add_argument("--model", type=Path, default=None, help="the GGUF (default: the Qwen of scripts/fetch_qwen.py)")
    ap.add_argument("--configs", default="old,new")
    args = ap.parse_args(argv)
    data = shared_data(args.data, SETS)
    base = Settings()
    model = args.model or qwen_path(base.paths.models)
    if not model.is_file():
        print(f"no GGUF at {model}: run python scripts/fetch_qwen.py", file=sys.stderr)
        return 2
    embedder = build_embedder(base.embedding, base.paths)
    names = args.configs.split(",")
    tmp = tempfile.TemporaryDirectory(prefix="old-prompts-")
    prompts = old_prompts(Path(tmp.name))
    sets = {s: load_set(data, s, base) for s in SETS}
    per = max(1, args.n // len(SETS))
    asks = [(s, q) for i in range(per) for s in SETS for q in [sets[s].questions[i]]]
    runs: dict[str, dict[str, Any]] = {}
    for name in names:
        settings = configured(base, name, model, prompts)
        chat = TimedChat(build_llm(settings.llm, settings.paths))
        assistants = {s: set_index(settings, embedder, s, sets[s], llm=chat) for s in SETS}
        runs[name] = {"settings": settings, "chat": chat, "assistants": assistants, "rows": []}
        print(f"{name}: threads={chat.chat.client._model.context_params.n_threads}, max_sources="
              f"{settings.answer.max_sources}, max_tokens={settings.llm.max_tokens}, prompt_cache={settings.llm.prompt_cache}",
              file=sys.stderr)
    for s in SETS:  # untimed: the embedder and the span reader compiled, the disk cache warm
        for run in runs.values():
            run["assistants"][s].ask(sets[s].questions[per].question, mode="extractive")
    for k, (s, q) in enumerate(asks, 1):
        for name in names:
            run = runs[name]
            chat: TimedChat = run["chat"]
            chat.first = None
            t0 = time.perf_counter()
            answer = None
            for ev in run["assistants"][s].ask_stream(q.question, mode="generative"):
                if ev.answer is not None:
                    answer = ev.answer
            t1 = time.perf_counter()
            asked_llm = chat.first is not None
            scored = score_answer(q, answer, [], t1 - t0, run["settings"].answer.max_citations, "answerable")
            row = {"set": s, "id": q.id, "mode": answer.mode, "abstained": answer.abstained, "llm": asked_llm,
                   "first": round(chat.first - t0, 3) if asked_llm else None, "full": round(t1 - t0, 3),
                   "prompt_tokens": chat.prompt_tokens if asked_llm else None, "contains": scored.contains,
                   "answer": answer.text, "timings": answer.timings}
            run["rows"].append(row)
            print(f"[{k}/{len(asks)}] {name:3s} {s:16s} {answer.mode:10s} first={row['first']} full={row['full']:.1f}s "
                  f"prompt={row['prompt_tokens']}", file=sys.stderr)
    summary = {}
    for name in names:
        rows = [r for r in runs[name]["rows"] if r["llm"]]
        first, full = [r["first"] for r in rows], [r["full"] for r in rows]
        summary[name] = {
            "asked": len(runs[name]["rows"]), "reached_llm": len(rows),
            "generative": sum(r["mode"] == "generative" for r in rows),
            "first_p50": round(statistics.median(first), 2), "first_p95": round(percentile(first, 95), 2),
            "full_p50": round(statistics.median(full), 2), "full_p95": round(percentile(full, 95), 2),
            "prompt_tokens_mean": round(statistics.mean(r["prompt_tokens"] for r in rows)),
            "contains_gold": round(sum(r["contains"] for r in runs[name]["rows"]) / len(runs[name]["rows"]), 3),
        }
    print("| config | asked | reached the LLM | written by the LLM | first token p50 / p95 | full answer p50 / p95 "
          "| prompt tokens (mean) | answer contains gold |")
    print("|---|---:|---:|---:|---|---|---:|---:|")
    for name, x in summary.items():
        print(f"| {name} | {x['asked']} | {x['reached_llm']} | {x['generative']} | {x['first_p50']} / {x['first_p95']} s "
              f"| {x['full_p50']} / {x['full_p95']} s | {x['prompt_tokens_mean']} | {x['contains_gold']} |")
    if "old" in summary and "new" in summary:
        o, n = summary["old"], summary["new"]
        print(f"ratio old/new: first token p50 {o['first_p50'] / n['first_p50']:.2f}x, full p50 "
              f"{o['full_p50'] / n['full_p50']:.2f}x")
    write_result(args.out, base, args, {"summary": summary, "rows": {k: v["rows"] for k, v in runs.items()}})
    for run in runs.values():
        for a in run["assistants"].values():
            a.close()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
