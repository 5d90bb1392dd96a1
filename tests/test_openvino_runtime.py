"""The OpenVINO runtime of the default model against the torch path it replaces: same tokens, the same
vectors to within bf16 rounding, the same reader spans; indexes keyed to the runtime; no torch and no
llama-index on the question path; loading in the background. The real model throughout (slow tier),
except the loading helper and the page's notice (fast)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, Settings
from assistant.answer.short.span_reader import SpanReader
from assistant.errors import EmbeddingError, IndexMismatchError
from assistant.models.embedding.factory import build_embedder
from assistant.models.embedding.int8 import RECIPE
from assistant.models.embedding.openvino_embedder import _Loading
from assistant.models.embedding.openvino_runtime import GemmaTokenizer, openvino_available
from assistant.models.fetch import gemma_path
from assistant.service.collections import Collections
from assistant.service.service import CollectionService
from assistant.web.chat import ChatApp
from tests.helpers import child_env, shared_qa

needs_openvino = pytest.mark.skipif(not openvino_available(), reason="openvino is not installed")

TRICKY = [
    "title: none | text: Hello\u00a0world, a non-breaking space",
    "emoji 🙂 and a letter outside the BMP 𝔘 fall back to bytes",
    "مَرْحَبًا بِكُمْ في الأخبار — بالتشكيل",
    "zero\u200bwidth and\u200fbidi marks",
    "tab\tand\nnew lines  and  double spaces",
    "task: search result | query: كم عدد الجنود؟",
    "",
]


@pytest.fixture(scope="module")
def torch_embedder(settings: Settings):  # noqa: ANN201
    return build_embedder(settings.replace(embedding={"runtime": "torch"}).embedding, settings.paths)


def _dev_texts(n: int = 300) -> list[str]:
    path = shared_qa("xquad-dev.ar")  # skips with the reason when ../shared is absent
    data = json.loads(path.read_text(encoding="utf-8"))
    texts = []
    for art in data["data"]:
        for p in art["paragraphs"]:
            texts.append(p["context"])
            texts.extend(q["question"] for q in p["qas"])
    return texts[:n]


@needs_openvino
def test_sentencepiece_gives_the_fast_tokenizers_ids_and_offsets() -> None:
    from tokenizers import Tokenizer

    fast = Tokenizer.from_file(str(gemma_path(Settings().paths.models) / "tokenizer.json"))
    ours = GemmaTokenizer(gemma_path(Settings().paths.models))
    texts = TRICKY + _dev_texts()
    for max_tokens in (2048, 16):
        fast.enable_truncation(max_tokens)
        for text, (ids, offsets) in zip(texts, ours.encode_with_offsets(texts, max_tokens)):
            want = fast.encode(text)
            assert ids == want.ids, text[:60]
            assert [tuple(o) for o in offsets] == [tuple(o) for o in want.offsets], text[:60]
        assert ours.encode(texts, max_tokens) == [e.ids for e in fast.encode_batch(texts)]


@needs_openvino
def test_openvino_vectors_are_torchs_to_within_bf16(embedder, torch_embedder) -> None:  # noqa: ANN001
    assert type(embedder).__name__ == "OpenVINOEmbedder"  # the default, with openvino installed
    assert embedder.model_id == torch_embedder.model_id
    assert embedder.vector_id == f"{embedder.model_id}@{embedder.runtime}" != torch_embedder.vector_id
    docs = ["قالت الحكومة إن 20 ألف جندي سيغادرون أفغانستان بحلول يونيو.", "The talks resumed in Doha on Saturday.",
            "Short."]
    titles = ["محادثات السلام", None, "x"]
    a, b = embedder.embed_documents(docs, titles), torch_embedder.embed_documents(docs, titles)
    assert a.shape == b.shape == (3, embedder.dim)
    assert np.all((a * b).sum(1) > 0.998)
    for q in ("كم عدد الجنود؟", "Where did the talks resume?"):
        assert float(embedder.embed_query(q) @ torch_embedder.embed_query(q)) > 0.998
    # a title changes the vector (EmbeddingGemma's document frame), in both runtimes alike
    other = embedder.embed_documents(docs[:1], ["عنوان آخر تماما"])
    assert float(other[0] @ a[0]) < 0.9999


@needs_openvino
def test_an_ingest_runs_on_two_streams_and_gets_the_question_graphs_vectors(embedder) -> None:  # noqa: ANN001
    """Documents run on the graph compiled for throughput (two requests at once, in order), questions on
    the latency one; the same text gives the same vector either way."""
    texts = [t for t in _dev_texts(40)]
    docs = embedder._forward(texts, ingest=True)
    runner = embedder._ingest_runner()
    assert runner.streams == 2 and embedder._sentences.get().streams == 1
    alone = embedder._forward(texts, ingest=False)
    assert docs.shape == alone.shape == (40, embedder.dim)
    cos = (docs * alone).sum(1) / np.linalg.norm(docs, axis=1) / np.linalg.norm(alone, axis=1)
    assert cos.min() > 0.9999, cos.min()  # each row is its own text's (run_all keeps the order)


@needs_openvino
def test_padding_and_the_sliding_window_leave_each_vector_as_it_is_alone(embedder, torch_embedder) -> None:  # noqa: ANN001
    """A batch mixes lengths: the short sentences are padded to a long one past the 257-token window of
    the sliding-attention layers. Each vector must be what it is alone, and the long one torch's."""
    long = " ".join(["وقال المتحدث إن المفاوضات مستمرة في الدوحة منذ أشهر عدة دون اتفاق نهائي."] * 40)
    texts = [long, "قصيرة.", "A short one.", "Another short sentence here."]
    together = embedder.embed_documents(texts)
    assert np.isfinite(together).all()
    embedder.clear_memo()
    for i, t in enumerate(texts):
        alone = embedder.embed_documents([t])[0]
        embedder.clear_memo()
        assert float(alone @ together[i]) > 0.9999, t[:30]
    assert float(torch_embedder.embed_documents([long])[0] @ together[0]) > 0.998


@needs_openvino
def test_an_index_built_on_torch_is_not_mixed_with_openvino_vectors(tmp_path: Path, settings: Settings, embedder,  # noqa: ANN001
                                                                    torch_embedder) -> None:  # noqa: ANN001
    s = settings.replace(index_root=tmp_path)
    doc = tmp_path / "a.txt"
    doc.write_text("The talks resumed in Doha on Saturday.", encoding="utf-8")
    with Assistant.open("t", settings=s, embedder=torch_embedder) as a:
        assert a.add([doc]).added
    with pytest.raises(IndexMismatchError, match=r"embedding_model.*openvino.*rebuild"):
        Assistant.open("t", settings=s, embedder=embedder)
    with Assistant.open("t", settings=s, embedder=embedder, rebuild=True) as a:  # re-embedded, articles kept
        assert [i.id for i in a.articles()] == ["a"]
        assert a.ask("Where did the talks resume?").citations


@needs_openvino
def test_the_reader_reads_the_same_spans_on_openvino(embedder, torch_embedder, settings: Settings) -> None:  # noqa: ANN001
    name = settings.answer.short_reader
    ov = SpanReader.load(embedder, name, embedder.model_id)
    pt = SpanReader.load(torch_embedder, name, torch_embedder.model_id)
    cases = [("كم عدد الجنود؟", "وقوامها أكثر من 20 ألف جندي في أفغانستان."),
             ("When did the talks resume?", "The talks resumed in Doha in June 2019 after a pause."),
             ("من هو المبعوث الأمريكي؟", "وقال المبعوث الأمريكي زلماي خليل زاد إن المحادثات مثمرة.")]
    for q, sentence in cases:
        a, b = ov.guesses(q, [sentence])[0], pt.guesses(q, [sentence])[0]
        assert a is not None and b is not None
        assert sentence[a.start:a.end] == sentence[b.start:b.end], q


@needs_openvino
def test_the_int8_reader_reads_the_spans_the_bf16_reader_reads(embedder, settings: Settings) -> None:  # noqa: ANN001
    """The default reader graph is int8 (embedding.reader_precision); on 40 dev questions with their gold
    sentences it reads what the bf16 graph reads (bench/reader_table.py measures F1 on every dev set)."""
    from assistant.text.sentences import split_article

    assert settings.embedding.reader_precision == "int8"
    bf16 = build_embedder(settings.replace(embedding={"reader_precision": "bf16"}).embedding, settings.paths)
    name = settings.answer.short_reader
    int8_reader, bf16_reader = SpanReader.load(embedder, name, embedder.model_id), SpanReader.load(bf16, name, bf16.model_id)
    pairs = []
    for art in json.loads(shared_qa("xquad-dev.ar").read_text(encoding="utf-8"))["data"]:
        for p in art["paragraphs"]:
            sentences = split_article("p", p["context"])
            for q in p["qas"][:1]:
                start = q["answers"][0]["answer_start"]
                pairs += [(q["question"], s.text) for s in sentences if s.start <= start < s.end]
    pairs = pairs[:40]

    def spans(reader: SpanReader) -> list[tuple[int, int] | None]:
        return [(g.start, g.end) if g else None for q, sentence in pairs for g in reader.guesses(q, [sentence])]

    same = sum(a == b for a, b in zip(spans(int8_reader), spans(bf16_reader), strict=True))
    assert len(pairs) == 40 and same >= 36, same
    # each read on its own graph: the int8 one compiled with int8 activations, the other in bf16
    assert embedder._readers[int8_reader.spec.source].get().tag == f"openvino-int8-{RECIPE}"
    assert bf16._readers[bf16_reader.spec.source].get().tag == "openvino-bf16"
    bf16.wait()


@needs_openvino
def test_a_question_loads_neither_torch_nor_llama_index(tmp_path: Path, settings: Settings, embedder) -> None:  # noqa: ANN001
    s = settings.replace(index_root=tmp_path)
    doc = tmp_path / "news.txt"
    doc.write_text("قالت الحكومة إن 20 ألف جندي سيغادرون أفغانستان. وبدأت المحادثات في الدوحة.", encoding="utf-8")
    with Assistant.open("q", settings=s, embedder=embedder) as a:
        a.add([doc])
    script = ("import sys, json; from assistant import Assistant, Settings\n"
              f"a = Assistant.open({str(tmp_path / 'q')!r}, settings=Settings())\n"
              "ans = a.ask('كم عدد الجنود؟')\n"
              "print(json.dumps({'cited': bool(ans.citations), 'torch': 'torch' in sys.modules, "
              "'llama_index': any(m.startswith('llama_index') for m in sys.modules)}))\n")
    env = child_env(tmp_path, ASSISTANT_EMBEDDING__BACKEND="gemma", ASSISTANT_PATHS__PROBES=str(tmp_path / "probes"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == {"cited": True, "torch": False, "llama_index": False}


@needs_openvino
def test_a_process_exiting_while_the_model_loads_exits_cleanly(tmp_path: Path) -> None:
    """A command that fails at once (here: exit 1 right after the embedder is made) must exit with its own
    code, not abort while OpenVINO still compiles in the loading thread (with a daemon thread it aborted,
    with -6, in about one run of three here)."""
    script = ("import sys; from assistant import Settings; from assistant.models.embedding.factory import build_embedder\n"
              "e = build_embedder(Settings().embedding); import time; time.sleep(0.2); sys.exit(1)\n")
    env = child_env(tmp_path, ASSISTANT_EMBEDDING__BACKEND="gemma")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "terminate called" not in done.stderr


def test_loading_hands_its_value_or_its_error_to_whoever_waits() -> None:
    slow = _Loading(lambda: (time.sleep(0.2), 42)[1])
    assert not slow.done
    assert slow.get() == 42 and slow.done

    def broken() -> None:
        raise EmbeddingError("the graph is corrupt; delete it")

    failed = _Loading(broken)
    for _ in range(2):  # every waiter sees it, not only the first
        with pytest.raises(EmbeddingError, match="corrupt"):
            failed.get()


def test_the_page_says_the_model_is_loading_until_it_is_ready(fake_assistant: Assistant) -> None:
    app = ChatApp(CollectionService(Collections(fake_assistant)))
    assert fake_assistant.ready and app.model_status() == ""
    fake_assistant.embedder.ready = False  # what OpenVINOEmbedder says while its graph compiles
    try:
        assert not fake_assistant.ready
        assert "Loading the embedding model" in app.model_status()
    finally:
        del fake_assistant.embedder.ready


@needs_openvino
def test_compiling_two_graphs_at_once_leaves_the_process_locale_as_it_was(tmp_path: Path) -> None:
    """OpenVINO sets the locale to "C" while it loads a compiled blob from its cache; two compilations at
    once (the embedder loading in its thread while the reader compiles) left "C" for good in 40 runs of
    40 (Python's default encoding then ASCII: a subprocess's Arabic output failed to decode after
    tests/test_concurrency.py). A tiny graph, compiled by two threads five times each, ten times."""
    import locale
    import threading

    import openvino as ov
    import openvino.opset13 as ops

    from assistant.models.embedding.openvino_runtime import OpenVINORunner

    x = ops.parameter([1, 8], np.float32, name="x")
    model = ov.Model([ops.matmul(x, ops.constant(np.ones((8, 256), np.float32)), False, False)], [x], "tiny")
    ov.save_model(model, str(tmp_path / "tiny.xml"))
    OpenVINORunner(tmp_path / "tiny.xml")  # the compiled blob is cached: what the others load
    before = locale.setlocale(locale.LC_ALL)
    changed = []
    for _ in range(10):
        threads = [threading.Thread(target=lambda: [OpenVINORunner(tmp_path / "tiny.xml") for _ in range(5)])
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if locale.setlocale(locale.LC_ALL) != before:
            changed.append(locale.setlocale(locale.LC_ALL))
            locale.setlocale(locale.LC_ALL, before)
    assert changed == []
