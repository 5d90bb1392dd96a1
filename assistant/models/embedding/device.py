"""Where the embedding model runs: :func:`choose_device` reads ``embedding.device`` (auto | cpu | cuda |
mps) and what this machine has.

- ``cpu``: the CPU path as before: the OpenVINO runtime when it is installed (``embedding.runtime``), else
  torch in float32.
- ``cuda`` / ``mps``: torch on that GPU, the weights in bf16 where the GPU has it natively, else float32
  (never float16: EmbeddingGemma's activations overflow in it), the batch scaled to the GPU's memory. Asked for and absent: an :class:`EmbeddingError` that
  says what torch sees and how to fix it.
- ``auto`` (the default): a GPU when torch sees one, else the CPU path.

Looking for a GPU must not cost a CPU-only machine anything: torch is imported to ask only when its build
has CUDA (read from its ``version.py`` without importing it) or on Apple silicon. :class:`Probe` is what
the choice asks, so a test can stand for any machine.
"""

from __future__ import annotations

import importlib.util
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.errors import EmbeddingError

__all__ = ["DeviceChoice", "Probe", "choose_device", "torch_has_cuda_build"]

Device = Literal["cpu", "cuda", "mps"]
DType = Literal["f32", "bf16", "f16"]
GPU_BATCH_PER_GB = 16  # sentences per GiB of GPU memory (EmbeddingGemma, 128 tokens): 80 GiB -> 1280, capped
GPU_BATCH_MAX = 1024


@dataclass(frozen=True, slots=True)
class DeviceChoice:
    """Where the model runs, in what precision, and how many texts a batch holds."""

    device: Device
    dtype: DType
    batch_size: int
    why: str

    @property
    def gpu(self) -> bool:
        return self.device != "cpu"


def torch_has_cuda_build() -> bool:
    """Whether the installed torch was built with CUDA, read from ``torch/version.py`` (no import: a
    CPU-only machine does not pay torch's import to learn it has no GPU)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    version = Path(list(spec.submodule_search_locations)[0]) / "version.py"
    try:
        text = version.read_text(encoding="utf-8")
    except OSError:
        return False
    match = re.search(r"^cuda\b[^=]*=\s*(.+)$", text, flags=re.M)
    return match is not None and match.group(1).strip() not in ("None", "''", '""')


class Probe:
    """What this machine's torch sees (asked when the choice needs it; on a CPU-only torch build nothing is
    imported). Note: the default pip torch on Linux is a CUDA build, so there ``auto`` imports torch to
    ask, and an index built on the CPU is keyed apart from one built on the GPU (``assistant rebuild``)."""

    def cuda(self) -> tuple[bool, str]:
        """(usable, what torch says): a CUDA GPU torch can use, and its name and memory."""
        if not torch_has_cuda_build():
            return False, "the installed torch is a CPU-only build"
        import torch

        if not torch.cuda.is_available():
            return False, f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no CUDA GPU"
        return True, torch.cuda.get_device_name(0)

    def cuda_memory_gb(self) -> float:
        import torch

        return torch.cuda.get_device_properties(0).total_memory / 2**30

    def cuda_bf16(self) -> bool:
        import torch

        return bool(torch.cuda.is_bf16_supported(including_emulation=False))

    def mps(self) -> tuple[bool, str]:
        if platform.system() != "Darwin" or platform.machine() != "arm64":
            return False, "MPS is Apple silicon's GPU; this is not a Mac with one"
        if importlib.util.find_spec("torch") is None:
            return False, "torch is not installed"
        import torch

        if not torch.backends.mps.is_available():
            return False, f"torch {torch.__version__} sees no MPS device"
        return True, "Apple MPS"


def _gpu_batch(memory_gb: float, base: int) -> int:
    return max(base, min(GPU_BATCH_MAX, int(memory_gb * GPU_BATCH_PER_GB)))


def choose_device(requested: str, batch_size: int, probe: Probe | None = None) -> DeviceChoice:
    """The device for ``embedding.device`` = ``requested`` on this machine (see the module doc);
    ``batch_size``: ``embedding.batch_size``, kept on the CPU, scaled up on a GPU."""
    probe = probe or Probe()
    if requested == "cpu":
        return DeviceChoice("cpu", "f32", batch_size, "embedding.device is cpu")
    if requested not in ("auto", "cuda", "mps"):
        raise EmbeddingError(f"embedding.device must be auto, cpu, cuda or mps, not {requested!r}")
    if requested in ("auto", "cuda"):
        ok, said = probe.cuda()
        if ok:
            dtype: DType = "bf16" if probe.cuda_bf16() else "f32"
            return DeviceChoice("cuda", dtype, _gpu_batch(probe.cuda_memory_gb(), batch_size), f"CUDA: {said}")
        if requested == "cuda":
            raise EmbeddingError(
                f"embedding.device is cuda but {said}. Install a CUDA build of torch (`pip install torch==2.13.0 "
                "--index-url https://download.pytorch.org/whl/cu128`), check `nvidia-smi`, or set "
                "embedding.device = auto (the CPU when there is no GPU)")
        cpu_why = said
    if requested in ("auto", "mps"):
        ok, said = probe.mps()
        if ok:
            return DeviceChoice("mps", "f32", max(batch_size, 64), said)
        if requested == "mps":
            raise EmbeddingError(f"embedding.device is mps but {said}; set embedding.device = auto or cpu")
    return DeviceChoice("cpu", "f32", batch_size, f"no GPU ({cpu_why})")
