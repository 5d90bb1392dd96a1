"""The read state of fixed prompt prefixes for an in-process llama.cpp model, kept in memory and on disk.

A local model on two cores reads ~75 prompt tokens a second, and every prompt starts with a system turn
of 100-310 tokens that never changes (prompts/answer.system.ar.txt alone is 309 Qwen tokens, 4 s).
llama-cpp-python already reuses the longest prefix the model read last, but that prefix is lost as soon
as a prompt in another language, or of another kind (condense, short answer), comes between; and a new
process (the CLI) starts from nothing.

:class:`PromptStates` keeps, for each system turn seen, the model's KV cache after reading it (llama.cpp's
sequence state, ~20 KB a token: 6.6 MB for the English answer prompt), and before a prompt is read puts
that state back when the model does not already hold it (6 ms); llama-cpp-python then reads only what
follows. The states are also written under ``folder`` (one file per prefix, named by the SHA-256 of its
tokens, in a folder keyed by the GGUF file, the llama-cpp-python version and the context size), so the
next process starts with them. A file that cannot be read or written is skipped with a warning: the
prefix is then read again, nothing else changes. Same output as reading the prompt whole (greedy
decoding; tests/test_llm_local.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PromptStates", "states_folder"]

log = logging.getLogger(__name__)

MAX_IN_MEMORY = 16  # distinct prefixes kept in RAM (the shipped prompts have 8 system turns)


def states_folder(root: Path, gguf: Path, n_ctx: int) -> Path:
    """Where the prefix states of the GGUF file ``gguf`` read with context size ``n_ctx`` are kept: a
    folder under ``root`` keyed by the file (resolved path, size, modification time), llama-cpp-python's
    version and ``n_ctx`` (a state from another model, build or context size is never loaded)."""
    import llama_cpp

    st = Path(gguf).stat()
    key = f"{Path(gguf).resolve()}|{st.st_size}|{st.st_mtime_ns}|{llama_cpp.__version__}|{n_ctx}"
    return Path(root) / "llamacpp-states" / f"{Path(gguf).stem[:40]}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


class PromptStates:
    """Prefix states of one llama-cpp-python ``Llama`` object (``model``); see the module doc.
    Not thread-safe: call it where the model itself is used, under the model's lock."""

    def __init__(self, model: Any, folder: Path | None):
        self.model = model
        self.folder = Path(folder) if folder is not None else None
        self._states: OrderedDict[bytes, tuple[list[int], bytes]] = OrderedDict()

    def tokens(self, text: str) -> list[int]:
        """``text`` as the model's tokens, exactly as llama-cpp-python tokenizes a prompt."""
        return list(self.model.tokenize(text.encode("utf-8"), special=True))

    def holds(self, tokens: list[int]) -> bool:
        """True when the model's KV cache already starts with ``tokens``."""
        n = len(tokens)
        return self.model.n_tokens >= n and bool(np.array_equal(self.model.input_ids[:n], tokens))

    def prepare(self, prefix: str) -> str:
        """Make the model hold ``prefix`` read, before a prompt that starts with it. Returns what was done:
        "held" (it already did), "memory" or "disk" (a kept state put back), "read" (read now and kept)."""
        tokens = self.tokens(prefix)
        if not tokens or self.holds(tokens):
            return "held"
        key = hashlib.sha256(np.asarray(tokens, dtype=np.int32).tobytes()).digest()
        kept = self._states.get(key)
        how = "memory"
        if kept is None:
            kept, how = self._load(key, tokens), "disk"
        if kept is None:
            self.model.reset()
            self.model.eval(tokens)
            kept = (tokens, self._save())
            self._keep(key, kept)
            self._write(key, kept)
            return "read"
        self._keep(key, kept)
        self._restore(*kept)
        return how

    def _keep(self, key: bytes, kept: tuple[list[int], bytes]) -> None:
        self._states[key] = kept
        self._states.move_to_end(key)
        while len(self._states) > MAX_IN_MEMORY:
            self._states.popitem(last=False)

    def _save(self) -> bytes:
        import llama_cpp

        ctx = self.model.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
        return bytes(buf)[:written]

    def _restore(self, tokens: list[int], state: bytes) -> None:
        import llama_cpp

        src = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        self.model.reset()
        if llama_cpp.llama_state_seq_set_data(self.model.ctx, src, len(state), 0) != len(state):
            raise RuntimeError("llama.cpp refused a kept prompt state")
        self.model.input_ids[: len(tokens)] = tokens
        self.model.n_tokens = len(tokens)

    def _path(self, key: bytes) -> Path | None:
        return self.folder / f"{key.hex()[:32]}.npz" if self.folder is not None else None

    def _load(self, key: bytes, tokens: list[int]) -> tuple[list[int], bytes] | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path) as z:
                stored, state = z["tokens"].tolist(), z["state"].tobytes()
        except (OSError, ValueError, KeyError) as e:
            log.warning("prompt state %s unreadable (%s); reading the prompt instead", path, e)
            return None
        return (tokens, state) if stored == tokens else None

    def _write(self, key: bytes, kept: tuple[list[int], bytes]) -> None:
        path = self._path(key)
        if path is None:
            return
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(tmp, tokens=np.asarray(kept[0], dtype=np.int32), state=np.frombuffer(kept[1], dtype=np.uint8))
            os.replace(tmp, path)
        except OSError as e:
            log.warning("cannot keep the prompt state in %s (%s); it is kept in memory only", path.parent, e)
            with contextlib.suppress(OSError):  # the folder may not exist at all (a file in its way)
                tmp.unlink()
