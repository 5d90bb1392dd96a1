"""LoRA adapters (assistant/models/lora.py): what training attaches is what serving merges, exactly, and a
wrong or missing adapter is a clear EmbeddingError. A tiny torch module stands in for the transformer
(no model weights are loaded), so this runs in the fast tier."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from assistant.errors import EmbeddingError  # noqa: E402
from assistant.models.lora import (  # noqa: E402
    adapter_arrays,
    adapter_model_id,
    attach_lora,
    attach_switched,
    load_adapter,
    merge_adapter,
    resolve_adapter,
)


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4))

    def forward(self, x):  # noqa: ANN001, ANN201
        return self.block(x)


def _trained_adapter(tmp_path: Path) -> tuple[Tiny, Tiny, Path]:
    torch.manual_seed(0)
    base = Tiny()
    trained = copy.deepcopy(base)
    layers = attach_lora(trained, rank=2, alpha=4.0, seed=1)
    assert sorted(layers) == ["block.0", "block.2"]
    x = torch.randn(3, 6)
    assert torch.allclose(trained(x), base(x))  # B starts at zero: the untrained adapter is the base model
    with torch.no_grad():
        for m in layers.values():
            m.lora_b.normal_(std=0.1)
    path = tmp_path / "tiny.npz"
    np.savez(path, **adapter_arrays(layers))
    return base, trained, path


def test_merging_gives_what_the_trained_adapter_computes(tmp_path: Path) -> None:
    base, trained, path = _trained_adapter(tmp_path)
    x = torch.randn(8, 6)
    served = copy.deepcopy(base)
    assert merge_adapter(served, load_adapter(path)) == 2
    with torch.no_grad():
        assert torch.allclose(served(x), trained(x), atol=2e-3)  # float16 storage
        assert not torch.allclose(served(x), base(x), atol=1e-3)


def test_an_adapter_for_another_model_is_refused(tmp_path: Path) -> None:
    _, _, path = _trained_adapter(tmp_path)
    other = torch.nn.Sequential(torch.nn.Linear(6, 5))
    with pytest.raises(EmbeddingError, match="lacks"):
        merge_adapter(other, load_adapter(path))

    class Wider(Tiny):
        def __init__(self) -> None:
            super().__init__()
            self.block[0] = torch.nn.Linear(7, 5)

    with pytest.raises(EmbeddingError, match="does not fit"):
        merge_adapter(Wider(), load_adapter(path))


def test_naming_an_adapter(tmp_path: Path) -> None:
    assert resolve_adapter(None) is None and resolve_adapter("none") is None
    shipped = resolve_adapter("gemma-tydi-half")
    assert shipped is not None and shipped.is_file() and shipped.stat().st_size < 20_000_000  # ships in the wheel
    _, _, path = _trained_adapter(tmp_path)
    assert resolve_adapter(str(path)) == path
    with pytest.raises(EmbeddingError, match="gemma-tydi-half"):  # the message lists what is shipped
        resolve_adapter("no-such-adapter")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(EmbeddingError, match="cannot read"):
        load_adapter(bad)
    a, b = adapter_model_id("m", path), adapter_model_id("m", None)
    assert b == "m" and a.startswith("m+lora-tiny-") and a != adapter_model_id("m", shipped)


def test_the_shipped_adapter_says_how_it_was_made() -> None:
    adapter = load_adapter(resolve_adapter("gemma-tydi-half"))
    meta = adapter.meta
    assert "tydiqa-goldp-ar-dev" in meta["trained_on"] and "Apache-2.0" in meta["trained_on"]
    assert "xquad-dev.ar" in meta["held_out"] and "arcd-train" in meta["held_out"]
    assert meta["command"].startswith("python -m tools.train_embedder_lora") and meta["merge_scale"] == 0.5
    assert all(k.endswith((".a", ".b")) for k in adapter.arrays) and len(adapter.layers) == len(meta["layers"])


def test_a_switched_adapter_changes_nothing_while_off(tmp_path: Path) -> None:
    base, trained, path = _trained_adapter(tmp_path)
    arrays = load_adapter(path).arrays
    shared = copy.deepcopy(base)
    switch = attach_switched(shared, arrays, tag="t1")
    x = torch.randn(8, 6)
    with torch.no_grad():
        assert torch.equal(shared(x), base(x))  # off: exactly the model the embedder had
        with switch:
            assert torch.allclose(shared(x), trained(x), atol=2e-3)  # on: the trained adapter
        assert torch.equal(shared(x), base(x)) and not switch.on
    assert attach_switched(shared, arrays, tag="t1") is switch  # a second reader on the same model reuses it
    with pytest.raises(EmbeddingError, match="another switched adapter"):
        attach_switched(shared, arrays, tag="t2")
