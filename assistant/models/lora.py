"""LoRA adapters for a torch transformer: attach for training, merge into the weights to serve.

An adapter is a file pair, ``<name>.npz`` (for each adapted linear layer, ``<layer>.a`` of shape
(rank, in) and ``<layer>.b`` of shape (out, rank), float16) and ``<name>.json`` (rank, alpha and how it
was trained). Serving merges it once at load: ``W += alpha / rank · B @ A``, so an adapted model costs
exactly what the base model costs per sentence, and needs no LoRA library. Loading an adapter never
unpickles: ``numpy.load(allow_pickle=False)``.

Training (``tools/train_embedder_lora.py``) wraps each ``nn.Linear`` in a LoRA layer (:func:`attach_lora`;
the class is built on first use, so importing this module does not import torch).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import EmbeddingError
from assistant.resources import shipped

__all__ = ["attach_lora", "adapter_arrays", "merge_adapter", "adapter_digest", "Adapter", "load_adapter",
           "resolve_adapter", "adapter_model_id", "attach_switched", "Switch", "ADAPTERS"]

ADAPTERS = shipped("models/adapters")
"""Where the shipped adapters live (inside the package)."""


def _torch() -> Any:
    import torch

    return torch


_CLASS: list[Any] = []


def _lora_linear_class() -> Any:
    if _CLASS:
        return _CLASS[0]
    torch = _torch()

    class LoRALinear(torch.nn.Module):  # type: ignore[name-defined]  # torch is imported here, read as Any
        """``base(x) + scale · x Aᵀ Bᵀ`` with the base layer frozen; B starts at zero."""

        def __init__(self, base: Any, rank: int, alpha: float, generator: Any):
            super().__init__()
            self.base = base
            self.scale = alpha / rank
            self.lora_a = torch.nn.Parameter(
                torch.randn(rank, base.in_features, generator=generator) / np.sqrt(base.in_features))
            self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x: Any) -> Any:
            return self.base(x) + (x @ self.lora_a.T.to(x.dtype)) @ self.lora_b.T.to(x.dtype) * self.scale

    _CLASS.append(LoRALinear)
    return LoRALinear


def attach_lora(model: Any, rank: int, alpha: float, seed: int = 0) -> dict[str, Any]:
    """Wrap every ``nn.Linear`` of ``model`` (in place) in a LoRA layer; returns them by module name."""
    torch = _torch()
    cls = _lora_linear_class()
    gen = torch.Generator().manual_seed(seed)
    targets = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    out = {}
    for name, lin in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        wrapped = cls(lin, rank, alpha, gen)
        setattr(parent, child, wrapped)
        out[name] = wrapped
    return out


def adapter_arrays(layers: dict[str, Any]) -> dict[str, np.ndarray]:
    """The trained A and B of each layer, float16, keyed ``<layer>.a`` / ``<layer>.b``."""
    out = {}
    for name, m in layers.items():
        out[f"{name}.a"] = m.lora_a.detach().float().numpy().astype(np.float16)
        out[f"{name}.b"] = (m.lora_b.detach().float() * m.scale).numpy().astype(np.float16)  # scale folded in
    return out


class Adapter:
    """A LoRA adapter read from disk: its layers' A and B (scale folded into B) and its description."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray], meta: dict):
        self.path = path
        self.arrays = arrays
        self.meta = meta
        self.name = str(meta.get("name") or path.stem)

    @property
    def layers(self) -> list[str]:
        return sorted({k.rsplit(".", 1)[0] for k in self.arrays})


def adapter_digest(path: Path) -> str:
    """The first 12 hex digits of the SHA-256 of the adapter's weights file (part of the model id)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def resolve_adapter(name: str | None) -> Path | None:
    """The adapter file that ``embedding.adapter`` names: a shipped name, a path, or None/"none"."""
    if name is None or name.strip().lower() in ("", "none", "null"):
        return None
    shipped = ADAPTERS / f"{name}.npz"
    p = shipped if shipped.exists() else Path(name)
    if not p.exists():
        known = sorted(x.stem for x in ADAPTERS.glob("*.npz")) if ADAPTERS.exists() else []
        raise EmbeddingError(f"no LoRA adapter {name!r}: neither {shipped} nor a file of that name exists; set "
                             f"embedding.adapter to one of {known} or a path to an .npz, or to null")
    return p


def adapter_model_id(base: str, adapter: Path | None) -> str:
    """The model id of ``base`` with ``adapter`` merged: the adapter's name and weights digest appended,
    so that vectors of another adapter (or none) never count as this model's."""
    return base if adapter is None else f"{base}+lora-{adapter.stem}-{adapter_digest(adapter)[:8]}"


def load_adapter(path: str | Path) -> Adapter:
    """The adapter at ``path`` (the ``.npz``; its ``.json`` beside it), or EmbeddingError naming the fix."""
    p = Path(path)
    if p.suffix != ".npz":
        p = p.with_suffix(".npz")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise EmbeddingError(f"cannot read the LoRA adapter {p} ({e}); set embedding.adapter to an adapter "
                             "file made by tools/train_embedder_lora.py, or to \"none\"") from e
    meta_path = p.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return Adapter(p, arrays, meta)


def _fitting_layer(model: Any, name: str, arrays: dict[str, np.ndarray], what: str) -> tuple[Any, Any, Any]:
    """The linear layer ``name`` of ``model`` and the adapter's A and B for it (float32 tensors), or an
    EmbeddingError when the model lacks the layer or its shape differs (an adapter of another model)."""
    torch = _torch()
    lin = _module(model, name, what)
    a = torch.from_numpy(arrays[f"{name}.a"].astype(np.float32))
    b = torch.from_numpy(arrays[f"{name}.b"].astype(np.float32))
    if tuple(lin.weight.shape) != (b.shape[0], a.shape[1]):
        raise EmbeddingError(f"the LoRA adapter {what} does not fit layer {name!r} of this model "
                             f"({tuple(lin.weight.shape)} vs {(b.shape[0], a.shape[1])})")
    return lin, a, b


def merge_adapter(model: Any, adapter: Adapter) -> int:
    """Add the adapter's ``B @ A`` to the weights of ``model``'s layers it names (in place); returns how
    many layers changed. A layer the model lacks, or of another shape, is an EmbeddingError."""
    torch = _torch()
    n = 0
    with torch.no_grad():
        for name in adapter.layers:
            lin, a, b = _fitting_layer(model, name, adapter.arrays, str(adapter.path))
            lin.weight += (b @ a).to(lin.weight.dtype)
            n += 1
    return n


class Switch:
    """Turns the adapters attached by :func:`attach_switched` on and off (off: the model is exactly the
    one it was). Used as ``with switch: ...``; the caller serializes users of the model."""

    def __init__(self) -> None:
        self.on = False

    def __enter__(self) -> Switch:
        self.on = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.on = False


_SWITCHED: list[Any] = []


def _switched_class() -> Any:
    if _SWITCHED:
        return _SWITCHED[0]
    torch = _torch()

    class SwitchedLoRA(torch.nn.Module):  # type: ignore[name-defined]
        """``base(x)``, plus ``x Aᵀ Bᵀ`` while its switch is on. A and B are frozen buffers."""

        def __init__(self, base: Any, a: Any, b: Any, switch: Switch, tag: str):
            super().__init__()
            self.base = base
            self.tag = tag
            self.register_buffer("lora_a", a, persistent=False)
            self.register_buffer("lora_b", b, persistent=False)
            self.switch = switch

        def forward(self, x: Any) -> Any:
            y = self.base(x)
            if self.switch.on:
                y = y + (x @ self.lora_a.T.to(x)) @ self.lora_b.T.to(x)  # x's device and dtype (a GPU's too)
            return y

    _SWITCHED.append(SwitchedLoRA)
    return SwitchedLoRA


def attach_switched(model: Any, arrays: dict[str, np.ndarray], what: str = "the adapter", tag: str = "") -> Switch:
    """Attach the adapter ``arrays`` (``<layer>.a`` / ``<layer>.b``, scale folded into B: what
    :func:`adapter_arrays` writes) to ``model`` in place, switched off; returns the switch. The model
    shared with another user (the embedder) computes exactly what it did while the switch is off.
    Attaching the same adapter (same ``tag``) again returns the switch it already has; another adapter on
    the same layers is an EmbeddingError."""
    cls = _switched_class()
    names = sorted({k.rsplit(".", 1)[0] for k in arrays})
    present = [m for n in names if isinstance(m := _module(model, n, what), cls)]
    if present:
        if len(present) == len(names) and all(m.tag == tag and m.switch is present[0].switch for m in present):
            return present[0].switch
        raise EmbeddingError(f"{what} cannot be attached: the model already carries another switched adapter")
    switch = Switch()
    for name in names:
        lin, a, b = _fitting_layer(model, name, arrays, what)
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, cls(lin, a, b, switch, tag))
    return switch


def _module(model: Any, name: str, what: str) -> Any:
    try:
        return model.get_submodule(name)
    except AttributeError as e:
        raise EmbeddingError(f"the LoRA adapter {what} adapts {name!r}, which this model lacks: "
                             "it was trained for another model") from e
