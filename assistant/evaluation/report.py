"""Reports of evaluation runs: ``report.md`` (tables) and PNG plots with Arabic labels shaped correctly.

- :func:`render_report` writes one run's ``report.md`` and plots into a folder and returns them
  (the markdown text and the plot paths: what a UI shows).
- :func:`summary_table` and :func:`summary_plots` put several runs side by side (docs/evaluation.md).

Plots use matplotlib's object API (no pyplot global state, safe from a web worker thread) and the Agg
renderer. Arabic labels: matplotlib >= 3.11 shapes text with libraqm (joins letters, applies bidi) and
gets logical text; older versions draw Arabic letters unjoined and left to right, so the text is
reshaped (arabic-reshaper) and put in visual order (python-bidi) first (:func:`plot_label`).
tests/test_evaluate.py checks the glyphs laid out either way. matplotlib is the ``eval`` extra:
``pip install -e '.[eval]'``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.evaluation.metrics import RANK_K
from assistant.evaluation.results import EvalRun, GroupMetrics, group_metrics
from assistant.terminal import shape_line

__all__ = ["Report", "render_report", "report_markdown", "write_plots", "summary_table", "summary_plots",
           "plot_label", "matplotlib_shapes_text", "DEFINITIONS", "PAIR_NAMES"]

PAIR_NAMES = {
    "ar→ar": "سؤال عربي، مقال عربي",
    "en→ar": "سؤال إنجليزي، مقال عربي",
    "en→en": "سؤال إنجليزي، مقال إنجليزي",
    "ar→en": "سؤال عربي، مقال إنجليزي",
}

DEFINITIONS = """\
- **gold sentence**: the sentence (same splitter as the index) holding the gold answer's start offset.
  Questions whose gold answer could not be placed in a sentence are left out of the sentence metrics.
- **first-citation hit@1**: the answer's first citation [1] is a gold sentence. An abstention is a miss.
- **any-citation hit@k**: a gold sentence is among the first k citations (k = most citations per answer).
- **recall@10**: share of the question's gold sentences in the top 10 of `Assistant.search` (same
  retriever); **MRR@10**: mean of 1/rank of the first gold sentence in that top 10 (0 if absent).
- **citation precision**: share of an answer's cited sentences that *hold* a gold answer, averaged over
  answers that cite something. A sentence holds it when it is a gold sentence **or** contains a gold
  answer string after Arabic normalization (the same fact stated in another sentence). *Strict*: gold
  sentences only.
- **answer contains gold**: a gold answer string occurs in the answer text (lead-in and [n] markers
  removed), both folded by `assistant.text.normalize.normalize` (alef/yeh/teh-marbuta forms, diacritics,
  tatweel, Arabic-Indic digits, case).
- **EM / F1**: SQuAD v1.1 exact match and token F1 between the answer text (lead-in and markers removed)
  and the best gold answer, after `normalize_answer` (assistant/text/answer_match.py): `normalize`, every
  Unicode punctuation or symbol character deleted (، ؛ ؟ « » included), the English articles a/an/the
  dropped, a token-initial proclitic "و" stripped before "ال" or when four letters remain, and a
  token-initial Arabic article "ال" stripped when two letters remain. The whole answer quotes sentences
  while gold answers are a few words, so its EM is near 0 and its F1 low **by construction**: it is the
  whole-sentence baseline of the short answer.
- **short answer**: *coverage* = share of answered (not abstained) answerable questions that got a short
  answer (`Answer.short`); *EM / F1* of what a reader sees first: the short answer when there is one,
  else the whole answer as above (an abstention scores 0); *F1 covered*: over the questions that got one;
  *F1 (parallel gold)*: against the gold answers of a parallel set given with `--gold-from` (the English
  answers of XQuAD for its English-over-Arabic set), using the short answer's translation when there is one.
- **wrongly abstained** (`wrongly_abstained`): answerable questions the assistant refused / answerable
  questions asked (an abstention on a question the full index answers).
- **unanswerable** (withheld): questions asked of a second index (`<index>-holdout`) that holds the corpus
  without their articles; the right outcome is an abstention. **Wrongly answered**
  (`unanswerable_answered`) = share it answered anyway. Only the hybrid retriever has a calibrated
  abstention threshold; dense-only and BM25-only never abstain.
- **on-topic unanswerable** (`--on-topic N`): questions asked of a third index (`<index>-ontopic`) that
  holds the corpus without their own paragraph but with the other paragraphs of their article (same
  title), so it is about their subject without answering them; only articles with two paragraphs or more
  give such questions. The right outcome is an abstention; **on-topic answered** (`on_topic_answered`) =
  share answered anyway (a sibling paragraph may now and then state the answer too: a floor, not zero).
- **answered correctly**: an answerable question answered (not abstained) with a gold sentence among its
  citations. **Trade-off** = harmonic mean of *answered correctly* and the unanswerable *abstained* rate
  (1 is perfect; it falls to 0 when either side fails completely).
- **latency**: wall time of `Assistant.ask` per answerable question, p50 and p95.
- **language pair**: question language → article language (ar→ar, en→ar, en→en, ar→en).
"""


@dataclass(frozen=True)
class Report:
    """What :func:`render_report` wrote: the markdown text, its file and the plot files."""

    markdown: str
    path: Path
    plots: list[Path]


def _f(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v * 1000:.0f}"


def _groups(run: EvalRun) -> list[tuple[str, GroupMetrics]]:
    """Table rows: "all", then each language pair (one row "all (pair)" when there is only one pair)."""
    pairs = [g for g in run.metrics if g != "all"]
    if len(pairs) == 1:
        return [(f"all ({pairs[0]})", run.metrics["all"])]
    return list(run.metrics.items())


def _title(run: EvalRun) -> str:
    c = run.config
    return f"{c['set']} — {c['retriever']} retriever, {c['mode']} answers"


def _abstention_text(c: dict) -> str:
    """How the run abstained, from its config (older runs recorded a fixed ``min_score``)."""
    ab = c.get("abstention")
    if ab:
        return str(ab.get("summary", ab))
    if c.get("min_score") is not None:
        return f"below the fixed score {c['min_score']:.2f}"
    return "none (only hybrid abstains)"


def report_markdown(run: EvalRun, plots: Sequence[Path] = (), *, misses: int = 10) -> str:
    """The markdown report of one run (plots are linked by file name, relative to the report)."""
    c = run.config
    m_all = run.metrics["all"]
    k = c.get("max_citations", 3)
    lines = [f"# Evaluation: {_title(run)}", ""]
    lines.append(
        f"{m_all.n} answerable questions ({m_all.n_gold} with a located gold sentence)"
        + (f" and {m_all.n_unanswerable} unanswerable" if m_all.n_unanswerable else "")
        + (f" and {m_all.n_on_topic} on-topic unanswerable" if m_all.n_on_topic else "")
        + f", asked of {c['index_articles']} articles (`{c['index']}`). Embedding model `{c['embedding_model']}`;"
        f" at most {k} citations; abstention "
        + _abstention_text(c)
        + f". Started {c['started']}, took {c['seconds']} s."
    )
    lines += ["", "## Scores", ""]
    lines.append(f"| group | n | first-citation hit@1 | any-citation hit@{k} | recall@10 | MRR@10 | citation precision "
                 "(strict) | answer contains gold | EM | F1 | wrongly abstained | latency p50 / p95 (ms) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for g, m in _groups(run):
        if not m.n:
            continue
        lines.append(
            f"| {g} | {m.n} | {_f(m.first_hit)} | {_f(m.hit_at_k)} | {_f(m.recall_at_10)} | {_f(m.mrr_at_10)} | "
            f"{_f(m.citation_precision)} ({_f(m.citation_precision_strict)}) | {_f(m.contains_answer)} | "
            f"{_f(m.em)} | {_f(m.f1)} | {_f(m.wrongly_abstained)} | {_ms(m.latency_p50)} / {_ms(m.latency_p95)} |"
        )
    lines += ["", "## Short answers", ""]
    lines.append(f"Producer: {c.get('short_producer') or 'none'}"
                 + (f"; parallel gold answers from `{c['gold_from']}`." if c.get("gold_from") else "."))
    lines += ["", "| group | coverage | EM | F1 | F1 covered | whole answer EM / F1 | F1 (parallel gold) |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for g, m in _groups(run):
        if m.n:
            lines.append(f"| {g} | {_f(m.short_coverage)} | {_f(m.short_em)} | {_f(m.short_f1)} | "
                         f"{_f(m.short_f1_covered)} | {_f(m.em)} / {_f(m.f1)} | {_f(m.short_f1_other)} |")
    if m_all.n_unanswerable:
        h = c.get("holdout") or {}
        lines += ["", "## Abstention", ""]
        lines.append(
            f"{m_all.n_unanswerable} questions asked of `{h.get('index')}`, which holds {h.get('articles')} "
            f"articles: the corpus without the {len(h.get('withheld_articles', []))} articles they are about."
        )
        lines += ["", "| group | unanswerable n | wrongly answered | abstained | answerable answered correctly | "
                  "trade-off (harmonic mean) |", "|---|---:|---:|---:|---:|---:|"]
        for g, m in _groups(run):
            if m.n_unanswerable:
                lines.append(f"| {g} | {m.n_unanswerable} | {_f(m.unanswerable_answered)} | "
                             f"{_f(m.unanswerable_abstained)} | {_f(m.answered_correctly)} | {_f(m.tradeoff)} |")
    if m_all.n_on_topic:
        o = c.get("on_topic_index") or {}
        lines += ["", "## On-topic abstention", ""]
        lines.append(
            f"{m_all.n_on_topic} questions asked of `{o.get('index')}`, which holds {o.get('articles')} articles: "
            f"the corpus without the {len(o.get('withheld_paragraphs', []))} paragraphs they are about, the other "
            "paragraphs of their articles kept (the index is about their subject but does not answer them)."
        )
        lines += ["", "| group | on-topic n | wrongly answered (on-topic answered) | abstained |", "|---|---:|---:|---:|"]
        for g, m in _groups(run):
            if m.n_on_topic and m.on_topic_answered is not None:
                lines.append(f"| {g} | {m.n_on_topic} | {_f(m.on_topic_answered)} | {_f(1 - m.on_topic_answered)} |")
    lines += ["", "## hit@k", "", "Retrieval: a gold sentence in the top k of the search ranking. Citations: among "
              "the first k citations of the answer.", ""]
    lines.append("| group | " + " | ".join(f"rank@{i}" for i in range(1, RANK_K + 1)) + " | "
                 + " | ".join(f"cite@{i}" for i in range(1, k + 1)) + " |")
    lines.append("|---|" + "---:|" * (RANK_K + k))
    for g, m in _groups(run):
        if m.rank_hits:
            cells = [_f(x) for x in m.rank_hits] + [_f(x) for x in m.citation_hits] + ["—"] * (k - len(m.citation_hits))
            lines.append(f"| {g} | " + " | ".join(cells) + " |")
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{p.stem}]({p.name})" for p in plots]
    missed = [r for r in run.results if r.kind == "answerable" and r.has_gold and not r.first_hit][:misses]
    if missed:
        lines += ["", f"## First misses (up to {misses})", ""]
        for r in missed:
            first = r.citations[0]["text"] if r.citations else "(abstained)"
            lines.append(f"- **{r.id}** ({r.pair}) {r.question}  ")
            lines.append(f"  gold: {r.gold_sentences[0] if r.gold_sentences else '?'}  ")
            lines.append(f"  cited first: {first}")
    lines += ["", "## Definitions", "", DEFINITIONS]
    return "\n".join(lines)


# --- plots -------------------------------------------------------------------------------------------
def _figure(w: float, h: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ConfigError("plots need matplotlib: pip install -e '.[eval]' (or pip install matplotlib)") from e
    return Figure(figsize=(w, h), dpi=110, layout="constrained")


def matplotlib_shapes_text() -> bool:
    """True when matplotlib lays text out itself with libraqm (matplotlib >= 3.11): it then joins Arabic
    letters and applies the bidi algorithm, and must get text in logical order. Older versions draw one
    glyph per character left to right, so Arabic must be reshaped and reordered before."""
    try:
        from matplotlib import ft2font
    except ImportError:
        return False
    return bool(getattr(ft2font, "__libraqm_version__", ""))


def plot_label(text: str) -> str:
    """Text as matplotlib must receive it so that Arabic comes out joined and right to left: unchanged
    when matplotlib shapes text itself, else reshaped (arabic-reshaper) and put in visual order
    (python-bidi), line by line. Doing both would reverse the Arabic twice."""
    if matplotlib_shapes_text():
        return text
    return "\n".join(shape_line(line) for line in text.split("\n"))


def _pair_label(pair: str) -> str:
    """The tick label of a pair: "ar→ar" over its Arabic name, one part a line (narrow enough for a bar group)."""
    return plot_label(f"{pair}\n{PAIR_NAMES[pair].replace('، ', chr(10))}") if pair in PAIR_NAMES else plot_label(pair)


_BAR_METRICS = (
    ("first_hit", "first-citation hit@1"),
    ("hit_at_k", "any-citation hit@k"),
    ("recall_at_10", "recall@10"),
    ("mrr_at_10", "MRR@10"),
    ("citation_precision", "citation precision"),
    ("contains_answer", "answer contains gold"),
    ("f1", "F1"),
)


def _plot(draw: Any, runs: Sequence[tuple[str, EvalRun]], path: Path, title: str) -> Path:
    """One PNG: ``draw(runs)`` lays the plot out and returns its figure and the axes that take the title
    (None: the figure's own title, over several panels)."""
    fig, ax = draw(runs)
    (ax.set_title if ax is not None else fig.suptitle)(plot_label(title))
    fig.savefig(path)
    return path


def _by_pair(runs: Sequence[tuple[str, EvalRun]]) -> tuple[Any, Any]:
    """Grouped bars: one panel per run (retriever), metrics × language pairs."""
    fig = _figure(4.2 * len(runs) + 1.5, 4.2)
    axes = fig.subplots(1, len(runs), sharey=True, squeeze=False)[0]
    colors = ["#1b6ca8", "#4aa3df", "#7fc97f", "#beaed4", "#fdc086", "#f0027f", "#999999"]
    for ax, (name, run) in zip(axes, runs, strict=True):
        pairs = [g for g in run.metrics if g != "all" and run.metrics[g].n] or ["all"]
        width = 0.8 / len(_BAR_METRICS)
        for i, (attr, label) in enumerate(_BAR_METRICS):
            vals = [getattr(run.metrics[p], attr) or 0.0 for p in pairs]
            xs = [j + (i - len(_BAR_METRICS) / 2 + 0.5) * width for j in range(len(pairs))]
            ax.bar(xs, vals, width, label=label, color=colors[i % len(colors)])
        ax.set_xticks(range(len(pairs)), [_pair_label(p) for p in pairs])
        ax.set_ylim(0, 1)
        ax.set_title(name)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return fig, None


def _hit_at_k(runs: Sequence[tuple[str, EvalRun]]) -> tuple[Any, Any]:
    """hit@k curves: retrieval (k = 1..10, lines) and citations (k = 1..max, dots), per run and pair."""
    fig = _figure(7.5, 4.5)
    ax = fig.subplots()
    styles = ["-", "--", ":", "-."]
    for i, (name, run) in enumerate(runs):
        groups = [g for g in run.metrics if g != "all" and run.metrics[g].n_gold] or ["all"]
        for g in groups:
            m = run.metrics[g]
            label = f"{name} · {g}" if len(runs) > 1 else g
            line = ax.plot(range(1, len(m.rank_hits) + 1), m.rank_hits, styles[i % len(styles)], marker=".",
                           label=plot_label(f"{label} ({PAIR_NAMES.get(g, '')})" if g in PAIR_NAMES else label))
            ax.plot(range(1, len(m.citation_hits) + 1), m.citation_hits, "o", color=line[0].get_color(), ms=7,
                    mfc="none")
    ax.set_xlabel("k (lines: retrieval top k · circles: first k citations)")
    ax.set_ylabel("hit@k")
    ax.set_xticks(range(1, RANK_K + 1))
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig, ax


def _latency(runs: Sequence[tuple[str, EvalRun]]) -> tuple[Any, Any]:
    """Histograms of the time per answerable question, one per run."""
    fig = _figure(7, 4)
    ax = fig.subplots()
    all_lat = [r.latency_s * 1000 for _, run in runs for r in run.results if r.kind == "answerable"]
    if all_lat:
        top = sorted(all_lat)[max(0, int(len(all_lat) * 0.99) - 1)]
        bins = [top * i / 40 for i in range(41)]
        for name, run in runs:
            lat = [min(r.latency_s * 1000, top) for r in run.results if r.kind == "answerable"]
            m = run.metrics["all"]
            ax.hist(lat, bins=bins, alpha=0.55,
                    label=f"{name}: p50 {_ms(m.latency_p50)} ms, p95 {_ms(m.latency_p95)} ms")
    ax.set_xlabel("ms per question (Assistant.ask; the last bin holds everything above p99)")
    ax.set_ylabel("questions")
    ax.legend(fontsize=8)
    return fig, ax


def write_plots(run: EvalRun, out_dir: str | Path) -> list[Path]:
    """The three plots of one run, as PNG files in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = [(run.config["retriever"], run)]
    t = _title(run)
    return [
        _plot(_by_pair, name, out / "by_pair.png", f"{t}\nالنتائج حسب زوج اللغات"),
        _plot(_hit_at_k, name, out / "hit_at_k.png", f"{t}\nنسبة الإصابة hit@k"),
        _plot(_latency, name, out / "latency.png", f"{t}\nزمن الإجابة"),
    ]


def render_report(run: EvalRun, out_dir: str | Path, *, plots: bool = True) -> Report:
    """Write ``report.md`` (and, with ``plots``, its PNGs) into ``out_dir``; return what was written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = write_plots(run, out) if plots else []
    md = report_markdown(run, files)
    path = out / "report.md"
    path.write_text(md, encoding="utf-8")
    return Report(md, path, files)


# --- several runs side by side ------------------------------------------------------------------
def summary_table(runs: Sequence[EvalRun]) -> str:
    """One markdown row per (set, retriever) run, overall scores."""
    k = max((r.config.get("max_citations", 3) for r in runs), default=3)
    lines = [
        f"| set | pair | retriever | n | first-citation hit@1 | any-citation hit@{k} | recall@10 | MRR@10 | citation "
        "precision (strict) | answer contains gold | EM | F1 | wrongly abstained | unanswerable: wrongly answered | "
        "on-topic: wrongly answered | trade-off | latency p50 / p95 (ms) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        m = run.metrics["all"]
        pairs = ", ".join(g for g in run.metrics if g != "all")
        lines.append(
            f"| {run.config['set']} | {pairs} | {run.config['retriever']} | {m.n} | {_f(m.first_hit)} | "
            f"{_f(m.hit_at_k)} | {_f(m.recall_at_10)} | {_f(m.mrr_at_10)} | {_f(m.citation_precision)} "
            f"({_f(m.citation_precision_strict)}) | {_f(m.contains_answer)} | {_f(m.em)} | {_f(m.f1)} | "
            f"{_f(m.wrongly_abstained)} | {_f(m.unanswerable_answered)} (n={m.n_unanswerable}) | "
            f"{_f(m.on_topic_answered)} (n={m.n_on_topic}) | {_f(m.tradeoff)} | "
            f"{_ms(m.latency_p50)} / {_ms(m.latency_p95)} |"
        )
    return "\n".join(lines)


def _pooled(runs: Sequence[EvalRun]) -> EvalRun:
    """Several runs (same retriever, different sets) pooled into one: metrics recomputed over all questions."""
    results = [dataclasses.replace(r, id=f"{run.config['set']}/{r.id}") for run in runs for r in run.results]
    return EvalRun({**runs[0].config, "set": "all sets"}, results, group_metrics(results))


def summary_plots(runs: Sequence[EvalRun], out_dir: str | Path, prefix: str = "eval") -> list[Path]:
    """Plots comparing retrievers over several sets: each retriever's runs pooled by language pair."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_retriever: dict[str, list[EvalRun]] = {}
    for run in runs:
        by_retriever.setdefault(run.config["retriever"], []).append(run)
    pooled = [(name, _pooled(rs)) for name, rs in by_retriever.items()]
    return [
        _plot(_by_pair, pooled, out / f"{prefix}-by-pair.png", "All question sets: scores by language pair\n"
              "كل مجموعات الأسئلة: النتائج حسب زوج اللغات"),
        _plot(_hit_at_k, pooled, out / f"{prefix}-hit-at-k.png", "hit@k by retriever and language pair\n"
              "نسبة الإصابة حسب طريقة البحث وزوج اللغات"),
        _plot(_latency, pooled, out / f"{prefix}-latency.png", "Latency per question\nزمن الإجابة عن كل سؤال"),
    ]
