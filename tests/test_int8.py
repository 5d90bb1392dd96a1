"""The int8 precision's plumbing (assistant/models/embedding/int8.py, openvino_runtime.py): what it is
keyed to, what it is calibrated on, and the error without nncf. Building the int8 graph needs the real
model and minutes; `python -m bench.reader_table --variant int8=embedding.precision=int8` measures it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assistant.errors import EmbeddingError
from assistant.models.embedding import openvino_runtime as ovr
from assistant.models.embedding.int8 import calibration_digest, calibration_text, quantize_sentence_graph
from assistant.settings import EmbeddingSettings


def test_int8_is_its_own_precision_and_keys_the_index() -> None:
    assert ovr.effective_precision("int8") == "int8"
    assert ovr._weights("int8") == "f16"  # the span reader's states graph stays as for bf16
    from assistant.models.embedding.factory import gemma_vector_id

    assert gemma_vector_id(EmbeddingSettings(precision="int8", device="cpu")).endswith("@openvino-int8")
    assert gemma_vector_id(EmbeddingSettings(device="cpu")).endswith("@openvino-bf16")


def test_the_calibration_text_ships_with_the_package_titled_in_both_languages() -> None:
    lines = calibration_text()
    assert len(lines) == 600 and len(set(lines)) > 590  # a passage can be in a set twice
    titles = [line.removeprefix("title: ").split(" | text: ", 1)[0] for line in lines]
    assert all(line.startswith("title: ") and " | text: " in line for line in lines)
    assert "none" not in titles and len(set(titles)) > 300  # framed with their articles' titles, as at ingest
    arabic = sum(any("\u0600" <= ch <= "\u06ff" for ch in line.split(" | text: ", 1)[1]) for line in lines)
    assert 60 <= arabic <= 300, arabic  # TyDi QA Arabic dev and English train, pooled


def test_the_int8_graph_and_its_indexes_are_keyed_to_the_calibration(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.models.embedding import int8, openvino_embedder

    built: list[Path] = []
    monkeypatch.setattr(ovr, "_built", lambda xml, *a, **k: built.append(xml) or xml)
    ovr.sentence_graph(Path("/graphs"), Path("/model"), "m", None, "int8")
    assert built[-1] == Path(f"/graphs/sentence-int8-{calibration_digest()}.xml")
    first = openvino_embedder._with_calibration("abc")
    assert first not in ("abc", None) and openvino_embedder._with_calibration(None) is None
    monkeypatch.setattr(int8, "calibration_digest", lambda: "another")
    assert openvino_embedder._with_calibration("abc") != first  # another calibration: another index


def test_without_nncf_the_error_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "nncf", None)
    with pytest.raises(EmbeddingError, match=r"pip install nncf.*embedding.precision = 'bf16'"):
        quantize_sentence_graph(tmp_path / "sentence-f16.xml", [], tmp_path / "sentence-int8.xml")
