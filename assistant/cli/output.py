"""What the ``assistant`` command prints: a progress bar, an ingest report, an answer with its citations
(streamed as the LLM writes it), in logical order or shaped for terminals without bidi (``--shape``)."""

from __future__ import annotations

import sys
from typing import Any

from assistant.terminal import render
from assistant.text.characters import clean_text
from assistant.types import Answer, IngestReport

__all__ = ["ProgressBar", "print_report", "answer_text", "citation_lines", "ask_streaming"]


class ProgressBar:
    """A progress bar on stderr (tqdm when installed, else one plain line rewritten in place).

    Called as ``progress(done, total, label)``. With ``desc`` (an ingest), the label is the last
    article id, shown after the bar; without (an evaluation), each new label is a stage with its own bar."""

    def __init__(self, desc: str | None = None, unit: str = "file") -> None:
        self.desc, self.unit = desc, unit
        self.stage: str | None = None
        self.bar: Any = None
        try:
            from tqdm import tqdm

            self._tqdm: Any = tqdm
        except ImportError:  # pragma: no cover - tqdm comes with sentence-transformers
            self._tqdm = None

    def __call__(self, done: int, total: int, label: str) -> None:
        stage = self.desc or label
        if stage != self.stage:
            self.close()
            self.stage = stage
        if self._tqdm is None:
            text = f"[{done}/{total}] {label[:60]:<60}" if self.desc else f"{stage}: {done}/{total}"
            print(f"\r  {text}", end="" if done < total else "\n", file=sys.stderr, flush=True)
            return
        if self.bar is None:
            unit = self.unit if self.desc or not stage.startswith("asking") else "q"
            self.bar = self._tqdm(total=total, desc=stage, unit=unit, file=sys.stderr, dynamic_ncols=True)
        if self.desc:
            self.bar.set_postfix_str(label[-40:], refresh=False)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def print_report(rep: IngestReport) -> int:
    print(f"added {len(rep.added)}, replaced {len(rep.replaced)}, unchanged {len(rep.unchanged)}, failed {len(rep.failed)}")
    for where, why in rep.failed:
        print(f"  failed: {where}: {why}", file=sys.stderr)
    return 0 if not rep.failed else 2


def answer_text(ans: Answer, shape: bool) -> str:
    lines = [ans.text]
    if ans.notice:
        lines.insert(0, f"({ans.notice})")
    if ans.citations:
        lines.append("")
        lines.extend(citation_lines(ans))
    return render("\n".join(lines), shape)


def citation_lines(ans: Answer) -> list[str]:
    return [f"[{c.n}] {c.title or c.article_id} — chars {c.start}-{c.end} (score {c.score:.3f})" for c in ans.citations]


def ask_streaming(a: Any, question: str, shape: bool, **kw: Any) -> Answer:
    """Print a generative answer as it streams, then the checked answer when checking changed it."""
    if shape or a.llm is None or (kw.get("mode") or a.settings.answer.mode) != "generative":
        plain: Answer = a.ask(question, **kw)
        print(answer_text(plain, shape))
        return plain
    streamed: list[str] = []
    ans: Answer | None = None
    for ev in a.ask_stream(question, **kw):
        if ev.delta:
            streamed.append(ev.delta)
            print(clean_text(ev.delta), end="", flush=True)
        if ev.answer is not None:
            ans = ev.answer
    print()
    assert ans is not None, "ask_stream ends with the answer"
    if not " ".join(clean_text("".join(streamed)).split()).endswith(" ".join(ans.text.split())):
        print("\n— checked answer —")  # the checker changed the streamed text: show what it kept
        print(answer_text(ans, shape))
    else:
        if ans.notice:
            print(f"({ans.notice})")
        if ans.citations:
            print("\n" + "\n".join(citation_lines(ans)))
    for c in ans.changes:
        print(f"  checker: {c.kind}: {c.detail}", file=sys.stderr)
    return ans
