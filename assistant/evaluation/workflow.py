"""An evaluation from the web page, in one call: uploaded question set (and articles) in, report out.

:func:`evaluate_upload` does what ``assistant eval`` does, for files a user uploaded: it takes the
uploads into a run folder ``<index_root>/eval-runs/<timestamp>/`` (``input/``, ``articles/``), checks the
question set against its corpus before anything is indexed, runs :func:`~assistant.evaluation.run.run_evaluation`
with the collection's settings and models, and writes ``results.json``, ``report.md`` and the plots
there. The corpus is the SQuAD file's own paragraphs; for our JSONL, the uploaded articles or, without
them, the articles of the collection. What the page shows is built from the :class:`Evaluation` it returns.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import AssistantError, ConfigError, MalformedInputError
from assistant.evaluation.qasets import load_questions, read_articles
from assistant.evaluation.report import Report, render_report
from assistant.evaluation.results import EvalRun
from assistant.evaluation.run import Progress, articles_of, check_choices, run_evaluation

if TYPE_CHECKING:
    from assistant.assistant import Assistant
    from assistant.settings import Settings

__all__ = ["RUNS_DIR", "QUESTION_EXTENSIONS", "Receive", "Evaluation", "new_run_folder", "check_question_set",
           "evaluate_upload"]

RUNS_DIR = "eval-runs"  # under settings.index_root: one folder per evaluation run from the page
QUESTION_EXTENSIONS = (".json", ".jsonl")

Receive = Callable[[Sequence[str], Path, Sequence[str] | None], tuple[list[Path], list[tuple[str, str]]]]
"""How uploads are taken: ``receive(paths, folder, extensions)`` copies the acceptable files into ``folder``
(``extensions``: the types taken; None: the article types) and returns (stored paths, [(name, why refused)])."""


@dataclass(frozen=True)
class Evaluation:
    """A finished run from the page: the run, its report (markdown, file, plots), its folder and notes on
    how the corpus was chosen."""

    run: EvalRun
    report: Report
    folder: Path
    notes: list[str]

    @property
    def results_file(self) -> Path:
        return self.folder / "results.json"

    def summary(self) -> str:
        """One plain sentence: what was evaluated, how long it took and where the run is kept."""
        m = self.run.metrics["all"]
        c = self.run.config
        return (f"Evaluated {m.n} question(s)" + (f" and {m.n_unanswerable} unanswerable" if m.n_unanswerable else "")
                + f" of {c['set']} in {c['seconds']} s" + "".join(f"; {n}" for n in self.notes)
                + f". Saved in {RUNS_DIR}/{self.folder.name}.")


def new_run_folder(index_root: Path) -> Path:
    """A new folder ``<index_root>/eval-runs/<timestamp>`` (a suffix when two runs start together)."""
    parent = Path(index_root) / RUNS_DIR
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        path = parent / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ConfigError(f"cannot make a new run folder in {parent}; clear out old runs")


def check_question_set(qfile: Path, corpus: Sequence[Path] | None, over: Assistant | None, settings: Settings) -> None:
    """Read the question set once before anything is indexed, so a file of the wrong shape gets a plain
    MalformedInputError naming it (the reader raises KeyError and the like on some shapes). ``corpus``:
    article files or folders; ``over``: a collection whose articles are the corpus; neither: SQuAD's own."""
    try:
        if corpus is not None:
            arts = read_articles(corpus, settings.ingest.extensions, int(settings.ingest.max_file_mb * 1_000_000))
        elif over is not None:
            arts = articles_of(over)
        else:
            arts = None
        qset = load_questions(qfile, arts or None, settings.chunking.max_sentence_chars)
    except AssistantError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise MalformedInputError(qfile.name, "is not SQuAD v1.1 JSON nor our JSONL question format "
                                  f"({type(e).__name__}: {e}); see docs/evaluation.md") from e
    if not qset.questions:
        raise MalformedInputError(qfile.name, "holds no questions to ask")


def evaluate_upload(
    questions: str | Path,
    collection: Assistant,
    folder: Path,
    *,
    receive: Receive,
    articles: Sequence[str | Path] = (),
    mode: str = "extractive",
    retriever: str = "hybrid",
    unanswerable: int = 0,
    limit: int | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate on an uploaded question set; the run is kept in ``folder`` (see :func:`new_run_folder`).

    ``collection``: its settings, embedder and LLM are used, and its articles are the corpus of a JSONL set
    uploaded without ``articles``. ``limit``: the first N questions (None: all). Raises AssistantError
    with a plain message; ``folder`` is removed when the run fails, so a failed run leaves nothing."""
    try:
        check_choices(mode, retriever)
        settings = collection.settings
        saved, refused = receive([str(questions)], folder / "input", QUESTION_EXTENSIONS)
        if refused:
            name, why = refused[0]
            raise ConfigError(f"{name} {why}.")
        qfile = saved[0]
        notes: list[str] = []
        article_paths = [str(f) for f in articles]
        corpus: list[Path] | None = None
        over: Assistant | None = None  # a JSONL set without article files: the collection's articles
        if qfile.suffix.lower() == ".jsonl":
            if article_paths:
                _, refused = receive(article_paths, folder / "articles", None)
                if refused:
                    raise ConfigError("The evaluation needs every article file: "
                                      + "; ".join(f"{n} {why}" for n, why in refused) + ".")
                corpus = [folder / "articles"]
            elif not collection.articles():
                raise ConfigError(f"{qfile.name} needs its articles: upload the article files with it, or add them "
                                  f"to the collection {collection.path.name} (it is empty).")
            else:
                over = collection
                notes.append(f"over the articles of the collection {collection.path.name}")
        elif article_paths:
            notes.append("the article files were not used: a SQuAD file holds its own articles")
        check_question_set(qfile, corpus, over, settings)
        run = run_evaluation(
            qfile, articles=corpus, index=over.path if over is not None else None, mode=mode, retriever=retriever,
            unanswerable=unanswerable, limit=limit, settings=settings, embedder=collection.embedder,
            llm=collection.llm, progress=progress,
        )
        run.save(folder)
        try:
            report = render_report(run, folder, plots=True)
        except ConfigError as e:  # no matplotlib: the tables alone
            notes.append(str(e))
            report = render_report(run, folder, plots=False)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Evaluation(run, report, folder, notes)
