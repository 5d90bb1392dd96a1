"""What every bench and tool script shares: the shared data and its dev sets, the index of a set, result
files stamped with the commit and the settings, the stored vectors of an index, and one harness that runs
a measurement with another checkout's code.

Run the scripts from the repository root as modules (``python -m bench.retrieval_hits``, ``python -m
tools.calibrate_abstention``): the root is then on ``sys.path`` and ``bench`` and ``assistant`` import
as packages. Every script has ``main(argv=None) -> int`` and answers ``--help``.

- **Shared data**: ``../shared/data`` beside the repository (the dev sets live outside it, under their own
  licences), or the folder ``--data`` names. A script that needs it and does not find it prints
  ``skipped: ...`` and exits 0 (:func:`shared_data`).
- **Dev sets**: :data:`DEV_SETS`, the five SQuAD-format files under ``<data>/qa``; :data:`TUNING_SET` trained
  the LoRA adapter and the span reader and calibrated abstention, so a figure on it is a training-set
  figure; :data:`HELD_OUT` is every other set; :data:`XQUAD` the three with the same questions.
- **Index names**: one per set and vector id, ``<index_root>/eval-<set>-<model tag>``
  (:func:`assistant.evaluation.run.default_index_path`): the index ``assistant eval`` builds and reuses.
  :func:`set_index` opens it and adds what it lacks, so no script needs another to have run first.
- **Percentiles**: :func:`assistant.evaluation.metrics.percentile` (0-100, linear between ranks).
- **Results**: :func:`write_result` writes ``{"commit", "dirty", "settings", "args", "results"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from assistant import Assistant, Settings
    from assistant.evaluation.qasets import QuestionSet
    from assistant.models.embedding.protocol import Embedder

__all__ = [
    "ROOT", "DEFAULT_DATA", "DEV_SETS", "TUNING_SET", "HELD_OUT", "XQUAD", "PAIR", "PARALLEL_GOLD", "TRANSLATED",
    "arguments", "shared_data", "set_file", "load_set", "english_questions", "index_path", "set_index",
    "pools_path", "StoredVectors", "stored_vectors", "unit", "write_result", "stamp", "in_other_tree", "free_port",
    "worktree",
]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"

DEV_SETS = ("xquad-dev.ar", "xquad-dev.en-ar", "xquad-dev.en", "arcd-train", "tydiqa-goldp-ar-dev")
"""The shared dev sets (``<data>/qa/<name>.json``, SQuAD v1.1 format), in the order tables print them."""
TUNING_SET = "tydiqa-goldp-ar-dev"
"""Trained the LoRA adapter and the span reader and calibrated abstention (ar→ar): never a held-out figure."""
HELD_OUT = tuple(s for s in DEV_SETS if s != TUNING_SET)
"""Every dev set that tuned nothing."""
XQUAD = DEV_SETS[:3]
"""The same questions in Arabic, in English over the Arabic contexts, and in English."""
PAIR = {"xquad-dev.ar": "ar→ar", "xquad-dev.en-ar": "en→ar", "xquad-dev.en": "en→en", "arcd-train": "ar→ar",
        "tydiqa-goldp-ar-dev": "ar→ar"}
"""(question language, article language) of each set."""
PARALLEL_GOLD = {"xquad-dev.en-ar": "xquad-dev.en"}
"""A set whose questions also have gold answers in another language, by question id (the English ones)."""
TRANSLATED = ROOT / "bench" / "data" / "tydi-en-questions.tsv"
"""100 questions of the tuning set translated into English by hand for this project (id, tab, question)."""


def arguments(doc: str | None, *, sets: Sequence[str] | None = None, out: Path | None = None,
              data: bool = True) -> argparse.ArgumentParser:
    """An argument parser with what the scripts share: ``--data`` (when ``data``), ``--sets`` (when ``sets``
    gives the default) and ``--out`` (also ``--json``: where the results go, default ``out``)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if data:
        ap.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help=f"the shared data folder (default: {DEFAULT_DATA}, ../shared/data beside the repository)")
    if sets is not None:
        ap.add_argument("--sets", nargs="+", default=list(sets), metavar="SET",
                        help=f"dev sets under DATA/qa (default: {' '.join(sets)})")
    ap.add_argument("--out", "--json", dest="out", type=Path, default=out, metavar="FILE",
                    help="write the results there as JSON, stamped with the git commit and the settings"
                    + (f" (default: {out})" if out else ""))
    return ap


def shared_data(override: Path | None = None, sets: Sequence[str] = (), *, need: str = "qa") -> Path:
    """The shared data folder (``override`` or :data:`DEFAULT_DATA`). When it, its ``need`` sub-folder or
    one of ``sets`` is absent: prints ``skipped: ...`` and exits 0 (the data lives outside the repository)."""
    root = Path(override) if override is not None else DEFAULT_DATA
    missing = [root / need] if not (root / need).is_dir() else [set_file(root, s) for s in sets
                                                                if not set_file(root, s).is_file()]
    if missing:
        print(f"skipped: {', '.join(map(str, missing))} absent (the shared dev sets live in ../shared/data beside "
              "the repository; --data names another folder)", file=sys.stderr)
        raise SystemExit(0)
    return root


def set_file(data: Path, name: str) -> Path:
    """The SQuAD file of dev set ``name``."""
    return data / "qa" / f"{name}.json"


def load_set(data: Path, name: str, settings: Settings | None = None) -> QuestionSet:
    """Dev set ``name`` (its contexts as articles, its questions with their gold sentence ids), sentences
    cut as ``settings`` cut them when given."""
    from assistant.evaluation.qasets import load_squad

    if settings is None:
        return load_squad(set_file(data, name))
    return load_squad(set_file(data, name), settings.chunking.max_sentence_chars)


def english_questions() -> dict[str, str]:
    """Question id → English question, from :data:`TRANSLATED`."""
    lines = TRANSLATED.read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


# --- indexes --------------------------------------------------------------------------------------
def index_path(settings: Settings, name: str, vector_id: str) -> Path:
    """The index of dev set ``name`` for vectors ``vector_id``: the one ``assistant eval`` builds."""
    from assistant.evaluation.run import default_index_path

    return default_index_path(settings, name, vector_id)


def set_index(settings: Settings, embedder: Embedder, name: str, qset: QuestionSet, *, llm: Any = None) -> Assistant:
    """The index of dev set ``name`` opened (with ``llm`` for generative answers), with every context of
    ``qset`` in it: what it lacks is added (on a first run every sentence is embedded, seeded with the
    vectors the other sets' indexes of the same model hold, e.g. xquad-dev.en-ar's from xquad-dev.ar's).
    The caller closes it."""
    from assistant import Assistant
    from assistant.evaluation.run import model_tag

    path = index_path(settings, name, embedder.vector_id)
    new = not path.exists()
    a = Assistant.open(path, settings=settings, embedder=embedder, llm=llm)
    if new:
        print(f"{name}: building {path} (embeds every sentence once; later runs reuse it)", file=sys.stderr,
              flush=True)
        a.reuse_embeddings([p for p in sorted(settings.index_root.glob(f"eval-*-{model_tag(embedder.vector_id)}"))
                            if p != path])
    a.add(qset.articles)
    return a


def pools_path(name: str, vector_id: str, suffix: str = ".pkl") -> Path:
    """Where bench/ranking_data.py keeps the candidate pools (``.pkl``) and query vectors (``.qvec.npz``)
    of dev set ``name`` for vectors ``vector_id``."""
    from assistant.evaluation.run import model_tag

    return Path("runs") / "ranking" / f"{name}-{model_tag(vector_id)}{suffix}"


def unit(m: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)


@dataclass
class StoredVectors:
    """Every sentence of an index with its stored vector (``S``, unit rows, in ``sids`` order), the
    vectors of the chunks (``C``, in ``cids`` order), each sentence's chunk row (``chunk``) and article
    (``art``); ``rows`` are the catalog's sentence rows, ``info`` its sentence records."""

    rows: list[Any]
    sids: list[str]
    info: dict[str, Any]
    S: np.ndarray
    cids: list[str]
    C: np.ndarray
    chunk: np.ndarray
    art: np.ndarray


def stored_vectors(a: Assistant) -> StoredVectors:
    """The vectors an index stores, as matrices (exact cosines instead of the vector store's search)."""
    cat, vec = a.index.catalog, a.index.vectors
    rows = [r for batch in cat.iter_sentence_rows("tokens") for r in batch]
    sids = [r[0] for r in rows]
    info = cat.sentences(sids)
    sv = vec.vectors("sentences", sids)
    S = unit(np.stack([sv[s] for s in sids]))
    cids = sorted({info[s][1] for s in sids})
    cv = vec.vectors("chunks", cids)
    C = unit(np.stack([cv[c] for c in cids]))
    chunk_pos = {c: i for i, c in enumerate(cids)}
    chunk = np.array([chunk_pos[info[s][1]] for s in sids])
    art = np.array([r[1] for r in rows], dtype=object)
    return StoredVectors(rows, sids, info, S, cids, C, chunk, art)


# --- results --------------------------------------------------------------------------------------
def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def stamp() -> dict[str, Any]:
    """The commit of this checkout and whether tracked files differ from it (None outside a git clone)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip() if commit else None, "dirty": bool(status.strip()) if status is not None else None}


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_PASSWORD = re.compile(r"(?i)(password=)[^&\s]*")


def _masked(value: Any) -> Any:
    """``value`` with the user and password of any URL in it replaced (SecretStr fields dump masked). Here
    rather than the package's ``redact_url``: a script run against an older checkout's package
    (:func:`in_other_tree`) writes its result through this too."""
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return _PASSWORD.sub(r"\1***", _USERINFO.sub("***@", value)) if isinstance(value, str) else value


def write_result(path: Path | None, settings: Settings | None, args: argparse.Namespace | dict | None,
                 results: Any, *, quiet: bool = False) -> None:
    """Write ``results`` to ``path`` (nothing when None) as ``{"commit", "dirty", "settings", "args",
    "results"}``: the settings as JSON with secrets masked (None for a script that reads none), the
    command's arguments; says where on stderr unless ``quiet``."""
    if path is None:
        return
    given = vars(args) if isinstance(args, argparse.Namespace) else dict(args or {})
    record = {
        **stamp(),
        "settings": _masked(settings.model_dump(mode="json")) if settings is not None else None,
        "args": _masked(given),  # no passwords
        "results": results,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)


# --- processes ----------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port free on the loopback interface now (for a server a bench starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def start_chroma(folder: Path) -> tuple[subprocess.Popen, str]:
    """``chroma run`` (it comes with chromadb) on a free loopback port, its data in ``folder``; returns the
    process and its URL once it answers (SystemExit when it does not within 2 minutes)."""
    import httpx

    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(folder), "--host",
                             "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"chroma run did not start in {folder}")


def new_database(url: str, prefix: str = "bench") -> str:
    """A new, empty PostgreSQL database on the server of ``url`` (whose role may create databases); its URL."""
    import uuid

    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def in_other_tree(tree: Path | None, module: str, args: Sequence[str], env: dict[str, str] | None = None, *,
                  package_only: bool = False) -> Any:
    """Run ``python -m bench.<module> *args --out FILE`` in a subprocess whose ``assistant`` package comes
    from the checkout ``tree`` (None: this one) and return the ``results`` it wrote: the "before" of a
    before/after measured in one run, on the same data, settings from the environment as here.

    The subprocess runs in this repository's folder (relative paths such as ``indexes/`` are the same);
    ``PYTHONPATH`` puts ``tree`` first, then this checkout, so ``bench`` is this one's unless ``tree``
    has a ``bench`` package of its own (then that checkout's script measures its own code). With
    ``package_only`` only the ``assistant`` package of ``tree`` is taken (through a temporary folder holding
    a link to it) and the script is always this checkout's: for a script the other checkout does not have,
    measuring its code the same way as this one's."""
    env = {**os.environ, **(env or {})}
    with tempfile.TemporaryDirectory(prefix="bench-tree-") as tmp:
        first = Path(tree).resolve() if tree is not None else None
        if first is not None and package_only:
            (Path(tmp) / "pkg").mkdir()
            (Path(tmp) / "pkg" / "assistant").symlink_to(first / "assistant", target_is_directory=True)
            first = Path(tmp) / "pkg"
        env["PYTHONPATH"] = os.pathsep.join([*([str(first)] if first is not None else []), str(ROOT)])
        out = Path(tmp) / "result.json"
        # -P: the working folder is not put first on sys.path, so PYTHONPATH decides where assistant comes from
        subprocess.run([sys.executable, "-P", "-m", f"bench.{module}", *args, "--out", str(out)], cwd=ROOT,
                       env=env, check=True)
        return json.loads(out.read_text(encoding="utf-8"))["results"]


@contextmanager
def worktree(ref: str) -> Iterator[tuple[Path, str]]:
    """A ``git worktree`` of ``ref`` in a temporary folder, removed after: (its folder, its commit)."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    parent = Path(tempfile.mkdtemp(prefix="bench-worktree-"))
    path = parent / "old"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit], capture_output=True,
                   text=True, check=True)
    try:
        yield path, commit
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True,
                       check=False)
        shutil.rmtree(parent, ignore_errors=True)
