"""The int8 precision (assistant/models/embedding/int8.py, openvino_runtime.py): what it is keyed to, a real
compression and run of a small graph, and the error without nncf. Building the int8 graphs of the real model
takes the model; `python -m bench.reader_table --variant int8=embedding.precision=int8` measures them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import EmbeddingError
from assistant.models.embedding import openvino_runtime as ovr
from assistant.models.embedding.int8 import RECIPE, compress_graph
from assistant.models.embedding.protocol import StatesSpec
from assistant.settings import EmbeddingSettings


def test_int8_is_its_own_precision_and_its_recipe_keys_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.models.embedding import int8
    from assistant.models.embedding.factory import gemma_vector_id

    assert ovr.effective_precision("int8") == f"int8-{RECIPE}" == "int8-w8a8-dynamic-g128"
    assert ovr._weights("int8") == "f16"  # made from the float16 graphs
    assert gemma_vector_id(EmbeddingSettings(precision="int8", device="cpu")).endswith(f"@openvino-int8-{RECIPE}")
    assert gemma_vector_id(EmbeddingSettings(device="cpu")).endswith("@openvino-bf16")
    assert gemma_vector_id(EmbeddingSettings(device="cpu", reader_precision="bf16")).endswith("@openvino-bf16")
    monkeypatch.setattr(int8, "RECIPE", "another")  # another recipe: other vectors, another index
    assert gemma_vector_id(EmbeddingSettings(precision="int8", device="cpu")).endswith("@openvino-int8-another")


def test_both_int8_graphs_are_named_after_the_recipe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    built: list[Path] = []
    monkeypatch.setattr(ovr, "_built", lambda xml, *a, **k: built.append(xml) or xml)
    ovr.sentence_graph(Path("/graphs"), Path("/model"), "m", None, "int8")
    assert built[-2:] == [Path("/graphs/sentence-f16.xml"), Path(f"/graphs/sentence-int8-{RECIPE}.xml")]
    (tmp_path / "span-reader.pt").write_bytes(b"adapter")
    spec = StatesSpec(source=tmp_path / "span-reader.pt", lora={}, layers=(23,), max_tokens=256)
    ovr.states_graph(Path("/graphs"), Path("/model"), None, spec, "int8")
    reader = f"reader-span-reader-{spec.digest[:12]}"
    assert built[-2:] == [Path(f"/graphs/{reader}-f16.xml"), Path(f"/graphs/{reader}-int8-{RECIPE}.xml")]


def _small_graph(path: Path) -> None:
    """A float16 graph shaped like ours (input_ids and attention_mask in, one vector per row out): an
    embedding table, a matmul and a masked mean."""
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    ids = ops.parameter([-1, -1], ov.Type.i64, name="input_ids")
    mask = ops.parameter([-1, -1], ov.Type.i64, name="attention_mask")
    table = ops.convert(ops.constant(rng.normal(size=(64, 256)).astype(np.float16)), ov.Type.f32)
    weight = ops.convert(ops.constant((rng.normal(size=(256, 256)) / 16).astype(np.float16)), ov.Type.f32)
    hidden = ops.matmul(ops.gather(table, ids, 0), weight, False, False)
    m = ops.unsqueeze(ops.convert(mask, ov.Type.f32), 2)
    pooled = ops.divide(ops.reduce_sum(ops.multiply(hidden, m), 1), ops.reduce_sum(m, 1))
    ov.save_model(ov.Model([pooled], [ids, mask], "small"), str(path))


def test_a_compressed_graph_stores_int8_weights_and_runs_close_to_the_float_one(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    f16, q = tmp_path / "sentence-f16.xml", tmp_path / f"sentence-int8-{RECIPE}.xml"
    _small_graph(f16)
    capfd.readouterr()
    compress_graph(f16, q)
    assert capfd.readouterr().out == ""  # NNCF's progress is not on our standard output (`ask --json`)
    assert q.exists() and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["sentence-f16.xml", "sentence-f16.bin", q.name, q.with_suffix(".bin").name])
    assert q.with_suffix(".bin").stat().st_size < 0.6 * f16.with_suffix(".bin").stat().st_size  # 1 byte a weight, not 2
    ids = np.random.default_rng(1).integers(0, 64, size=(4, 12))
    mask = np.ones_like(ids)
    mask[2:, 8:] = 0  # two rows padded
    want = ovr.OpenVINORunner(f16, precision="f32", threads=1)(ids, mask)
    runner = ovr.OpenVINORunner(q, precision="int8", threads=1)
    assert runner.tag == f"openvino-int8-{RECIPE}"
    assert int(runner._compiled.get_property("DYNAMIC_QUANTIZATION_GROUP_SIZE")) == 128  # activations in int8 too
    got = runner(ids, mask)
    cos = (want * got).sum(1) / np.linalg.norm(want, axis=1) / np.linalg.norm(got, axis=1)
    assert got.shape == (4, 256) and cos.min() > 0.99, cos
    assert not np.allclose(got, want, atol=1e-6)  # it is not the float graph under another name


def test_without_nncf_the_error_names_the_setting_and_the_reader_falls_back(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    from assistant.models.embedding.openvino_embedder import OpenVINOEmbedder

    monkeypatch.setitem(sys.modules, "nncf", None)
    with pytest.raises(EmbeddingError, match=r"embedding.reader_precision is 'int8'.*pip install nncf.*"
                                             r"embedding.reader_precision = 'bf16'"):
        compress_graph(tmp_path / "reader-f16.xml", tmp_path / "reader-int8.xml", setting="embedding.reader_precision")
    # the reader's default int8 graph cannot be made: the reader runs on the float graph instead of failing
    monkeypatch.setattr(ovr, "_built", lambda xml, what, build, **k: build() or xml)  # build now, no file checks
    monkeypatch.setattr("assistant.models.embedding.gemma_graphs.build_states_graph", lambda *a, **k: None)
    monkeypatch.setattr(ovr, "_load_torch_model", lambda *a: None)
    compiled: list[tuple[Path, str]] = []
    monkeypatch.setattr(ovr, "OpenVINORunner", lambda xml, precision, threads: compiled.append((xml, precision)))
    (tmp_path / "span.pt").write_bytes(b"adapter")
    spec = StatesSpec(source=tmp_path / "span.pt", lora={}, layers=(23,), max_tokens=256)
    embedder = OpenVINOEmbedder.__new__(OpenVINOEmbedder)  # the model itself is not needed for this choice
    embedder._graphs, embedder._path, embedder._adapter, embedder._threads = tmp_path, tmp_path, None, 1
    embedder._precision, embedder._reader_precision = "bf16", "int8"
    embedder._load_reader(spec)
    assert compiled == [(tmp_path / f"reader-span-{spec.digest[:12]}-f16.xml", "bf16")]
