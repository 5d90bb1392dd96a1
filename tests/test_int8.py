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


def test_int8_is_its_own_precision_and_keys_the_index() -> None:
    assert ovr.effective_precision("int8") == "int8"
    assert ovr._weights("int8") == "f16"  # made from the float16 graphs
    from assistant.models.embedding.factory import gemma_vector_id

    assert gemma_vector_id(EmbeddingSettings(precision="int8", device="cpu")).endswith("@openvino-int8")
    assert gemma_vector_id(EmbeddingSettings(device="cpu")).endswith("@openvino-bf16")


def test_both_int8_graphs_and_their_indexes_are_keyed_to_the_recipe(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    from assistant.models.embedding import int8, openvino_embedder

    built: list[Path] = []
    monkeypatch.setattr(ovr, "_built", lambda xml, *a, **k: built.append(xml) or xml)
    ovr.sentence_graph(Path("/graphs"), Path("/model"), "m", None, "int8")
    assert built[-2:] == [Path("/graphs/sentence-f16.xml"), Path(f"/graphs/sentence-int8-{RECIPE}.xml")]
    (tmp_path / "span-reader.pt").write_bytes(b"adapter")
    spec = StatesSpec(source=tmp_path / "span-reader.pt", lora={}, layers=(23,), max_tokens=256)
    ovr.states_graph(Path("/graphs"), Path("/model"), None, spec, "int8")
    reader = f"reader-span-reader-{spec.digest[:12]}"
    assert built[-2:] == [Path(f"/graphs/{reader}-f16.xml"), Path(f"/graphs/{reader}-int8-{RECIPE}.xml")]
    first = openvino_embedder._with_recipe("abc")
    assert first not in ("abc", None) and openvino_embedder._with_recipe(None) is None
    monkeypatch.setattr(int8, "RECIPE", "another")
    assert openvino_embedder._with_recipe("abc") != first  # another recipe: another index


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


def test_a_compressed_graph_stores_int8_weights_and_runs_close_to_the_float_one(tmp_path: Path) -> None:
    f16, q = tmp_path / "sentence-f16.xml", tmp_path / f"sentence-int8-{RECIPE}.xml"
    _small_graph(f16)
    compress_graph(f16, q)
    assert q.exists() and not list(tmp_path.glob("*.part.*"))
    assert q.with_suffix(".bin").stat().st_size < 0.6 * f16.with_suffix(".bin").stat().st_size  # 1 byte a weight, not 2
    ids = np.random.default_rng(1).integers(0, 64, size=(4, 12))
    mask = np.ones_like(ids)
    mask[2:, 8:] = 0  # two rows padded
    want = ovr.OpenVINORunner(f16, precision="f32", threads=1)(ids, mask)
    got = ovr.OpenVINORunner(q, precision="int8", threads=1)(ids, mask)
    cos = (want * got).sum(1) / np.linalg.norm(want, axis=1) / np.linalg.norm(got, axis=1)
    assert got.shape == (4, 256) and cos.min() > 0.99, cos
    assert not np.allclose(got, want, atol=1e-6)  # it is not the float graph under another name


def test_without_nncf_the_error_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "nncf", None)
    with pytest.raises(EmbeddingError, match=r"pip install nncf.*embedding.precision = 'bf16'"):
        compress_graph(tmp_path / "sentence-f16.xml", tmp_path / "sentence-int8.xml")
