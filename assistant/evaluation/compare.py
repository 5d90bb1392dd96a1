"""Two saved runs side by side (``assistant eval --compare A/results.json B/results.json``): metric
differences B − A per group, and the questions whose outcome changed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from assistant.evaluation.results import EvalRun, QuestionResult

__all__ = ["COMPARED", "Comparison", "compare_runs"]

COMPARED = (
    "first_hit", "hit_at_k", "recall_at_10", "mrr_at_10", "citation_precision", "citation_precision_strict",
    "contains_answer", "em", "f1", "wrongly_abstained", "answered_correctly", "unanswerable_abstained", "tradeoff",
    "on_topic_answered", "latency_p50", "latency_p95",
)


@dataclass(frozen=True)
class Comparison:
    """Metric differences (B − A) per group, and the questions whose outcome changed."""

    a: str
    b: str
    deltas: dict[str, dict[str, tuple[float | None, float | None, float | None]]]  # group → metric → (A, B, B−A)
    gained: list[QuestionResult]  # B's result: a hit (answerable) or an abstention (unanswerable, on-topic) A missed
    lost: list[QuestionResult]  # A's result: one A got right and B did not
    only_in_one: int  # questions present in one run only (not compared)

    def render(self) -> str:
        """Plain text for the terminal."""
        lines = [f"A: {self.a}", f"B: {self.b}", ""]
        for group, rows in self.deltas.items():
            lines.append(f"[{group}]")
            lines.append(f"  {'metric':28s} {'A':>8s} {'B':>8s} {'B-A':>8s}")
            for metric, (va, vb, d) in rows.items():
                lines.append(f"  {metric:28s} {_fmt(va):>8s} {_fmt(vb):>8s} {_fmt(d, signed=True):>8s}")
            lines.append("")
        lines.append(f"changed outcome: {len(self.gained)} better in B, {len(self.lost)} worse in B"
                     + (f" ({self.only_in_one} questions in one run only, not compared)" if self.only_in_one else ""))
        for title, changed in (("better in B", self.gained), ("worse in B", self.lost)):
            for r in changed:
                lines.append(f"  {title}: [{r.kind}] {r.id} ({r.pair}) {r.question}")
        return "\n".join(lines)


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "—"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def _outcome(r: QuestionResult) -> bool:
    """The outcome compared between runs: first-citation hit (answerable) or abstention (unanswerable and
    on-topic questions)."""
    return r.abstained if r.kind in ("unanswerable", "on_topic") else r.first_hit


def compare_runs(a: EvalRun, b: EvalRun, a_name: str = "A", b_name: str = "B") -> Comparison:
    """Per-metric differences B − A (overall and per language pair) and the questions that changed
    outcome: first-citation hit for answerable questions, abstention for unanswerable and on-topic ones.
    A run saved before a metric existed shows it as "—"."""
    def name(run: EvalRun, label: str) -> str:
        c = run.config
        return f"{label} ({c.get('set')}, {c.get('retriever')} retriever, {c.get('mode')}, {c.get('embedding_model')})"

    deltas: dict[str, dict[str, tuple[float | None, float | None, float | None]]] = {}
    for group in [g for g in a.metrics if g in b.metrics]:
        ma, mb = dataclasses.asdict(a.metrics[group]), dataclasses.asdict(b.metrics[group])
        rows = {}
        for m in COMPARED:
            va, vb = ma.get(m), mb.get(m)
            if va is None and vb is None:
                continue
            rows[m] = (va, vb, None if va is None or vb is None else vb - va)
        deltas[group] = rows
    ra = {(r.kind, r.id): r for r in a.results}
    rb = {(r.kind, r.id): r for r in b.results}
    common = [key for key in ra if key in rb]
    gained = [rb[key] for key in common if _outcome(rb[key]) and not _outcome(ra[key])]
    lost = [ra[key] for key in common if _outcome(ra[key]) and not _outcome(rb[key])]
    only = len(set(ra) ^ set(rb))
    return Comparison(name(a, a_name), name(b, b_name), deltas, gained, lost, only)
