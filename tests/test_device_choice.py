"""Where the embedding model runs (assistant/models/embedding/device.py): the choice for every kind of
machine, through a probe that stands for it (this machine has no GPU), and the torch path in another
precision on a tiny random model (tests/helpers.py), which is the code a GPU runs with ``cuda`` in place
of ``cpu``."""

from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import EmbeddingError
from assistant.models.embedding import device as device_module
from assistant.models.embedding.device import DeviceChoice, Probe, choose_device, torch_has_cuda_build


class Machine(Probe):
    """A machine as torch would see it."""

    def __init__(self, cuda: str | None = None, memory_gb: float = 0.0, bf16: bool = True, mps: bool = False):
        self._cuda, self._memory, self._bf16, self._mps = cuda, memory_gb, bf16, mps

    def cuda(self) -> tuple[bool, str]:
        return (True, self._cuda) if self._cuda else (False, "the installed torch is a CPU-only build")

    def cuda_memory_gb(self) -> float:
        return self._memory

    def cuda_bf16(self) -> bool:
        return self._bf16

    def mps(self) -> tuple[bool, str]:
        return (True, "Apple MPS") if self._mps else (False, "MPS is Apple silicon's GPU; this is not a Mac with one")


def test_auto_takes_the_gpu_there_is_and_the_cpu_path_otherwise() -> None:
    h100 = choose_device("auto", 32, Machine(cuda="NVIDIA H100", memory_gb=79.6))
    assert (h100.device, h100.dtype, h100.batch_size) == ("cuda", "bf16", 1024) and "H100" in h100.why
    t4 = choose_device("auto", 32, Machine(cuda="Tesla T4", memory_gb=14.6, bf16=False))
    assert (t4.device, t4.dtype, t4.batch_size) == ("cuda", "f32", 233)  # never float16: Gemma overflows in it
    mac = choose_device("auto", 32, Machine(mps=True))
    assert (mac.device, mac.dtype, mac.batch_size) == ("mps", "f32", 64)
    laptop = choose_device("auto", 32, Machine())
    assert laptop == DeviceChoice("cpu", "f32", 32, "no GPU (the installed torch is a CPU-only build)")
    assert not laptop.gpu and h100.gpu


def test_cpu_is_the_cpu_even_beside_a_gpu_and_a_missing_gpu_asked_for_is_an_error() -> None:
    assert choose_device("cpu", 16, Machine(cuda="NVIDIA H100", memory_gb=80)).device == "cpu"
    with pytest.raises(EmbeddingError, match="embedding.device is cuda but the installed torch is a CPU-only build. "
                                             "Install a CUDA build of torch"):
        choose_device("cuda", 32, Machine())
    with pytest.raises(EmbeddingError, match="embedding.device is mps but MPS is Apple silicon's GPU"):
        choose_device("mps", 32, Machine(cuda="NVIDIA H100", memory_gb=80))
    with pytest.raises(EmbeddingError, match="must be auto, cpu, cuda or mps"):
        choose_device("tpu", 32, Machine())


def test_this_machine_is_read_without_importing_torch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the real torch here is the CPU build: no GPU, and the default probe says why
    assert torch_has_cuda_build() is False
    assert choose_device("auto", 32).device == "cpu"
    # a CUDA build is recognised from its version.py alone
    (tmp_path / "version.py").write_text("__version__ = '2.13.0+cu128'\ncuda: Optional[str] = '12.8'\n")
    spec = ModuleSpec("torch", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "torch" else None)
    assert device_module.torch_has_cuda_build() is True
    (tmp_path / "version.py").write_text("cuda: Optional[str] = None\n")
    assert device_module.torch_has_cuda_build() is False


@pytest.mark.slow
def test_the_torch_path_in_bf16_on_a_tiny_random_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the GPU path does, on the CPU: the weights cast, the inputs moved, the vectors float32 and
    close to the float32 model's, the states read, the index keyed to device and precision."""
    from assistant.models.embedding import factory
    from assistant.models.embedding.protocol import StatesSpec
    from assistant.models.embedding.st_embedder import SentenceTransformerEmbedder
    from assistant.settings import EmbeddingSettings
    from tests.helpers import tiny_sentence_transformer

    folder = tiny_sentence_transformer(tmp_path / "tiny")
    texts = ["the ships in the harbour", "talks in doha"]
    f32 = SentenceTransformerEmbedder(str(folder))
    monkeypatch.setattr(factory, "choose_device", lambda device, batch: DeviceChoice("cpu", "bf16", batch * 8, "test"))
    bf16 = factory.build_embedder(EmbeddingSettings(backend="sentence-transformers", model=str(folder), device="cuda"))
    assert isinstance(bf16, SentenceTransformerEmbedder) and bf16.batch_size == 256
    assert f32.vector_id == "sentence-transformers/st" and bf16.vector_id == "sentence-transformers/st@torch-cpu-bf16"
    a, b = f32.embed_documents(texts), bf16.embed_documents(texts)
    assert a.dtype == b.dtype == np.float32 and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(a * b, axis=1))) > 0.99
    states = bf16.token_states(texts, StatesSpec(folder, {}, (-1,), 32))
    assert [s.states.shape[1] for s in states] == [32, 32] and all(np.isfinite(s.states).all() for s in states)


@pytest.mark.slow
@pytest.mark.skipif(not torch_has_cuda_build(), reason="needs a CUDA build of torch and an NVIDIA GPU: run it on a "
                    "machine that has them (this one's torch is the CPU build)")
def test_the_cuda_path_on_a_tiny_random_model(tmp_path: Path) -> None:
    """The real choice on a GPU machine: torch on CUDA in bf16 (or f16), the vectors as on the CPU."""
    from assistant.models.embedding.st_embedder import SentenceTransformerEmbedder
    from tests.helpers import tiny_sentence_transformer

    folder = tiny_sentence_transformer(tmp_path / "tiny")
    choice = choose_device("auto", 32)
    assert choice.device == "cuda", choice.why
    gpu = SentenceTransformerEmbedder(str(folder), device=choice.device, dtype=choice.dtype, batch_size=choice.batch_size)
    cpu = SentenceTransformerEmbedder(str(folder))
    texts = ["the ships in the harbour", "talks in doha"] * 50
    a, b = cpu.embed_documents(texts), gpu.embed_documents(texts)
    assert b.dtype == np.float32 and float(np.min(np.sum(a * b, axis=1))) > 0.99
    assert gpu.vector_id.endswith(f"@torch-cuda-{choice.dtype}")
