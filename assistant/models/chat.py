"""The chat model of the generative mode: a small protocol over the llama-index LLM clients.

Answering code sees only :class:`ChatModel`: ``stream(messages, timeout)`` yields text deltas,
``complete(messages, timeout)`` returns the whole reply, ``name`` is for logs and reports, and
``serial`` says whether calls must not overlap (an in-process model such as llama.cpp is not
thread-safe; a server is). :class:`LlamaIndexChat` wraps any llama-index LLM; ``build_llm``
(assistant/models/llm.py) returns one, and :func:`as_chat_model` wraps a raw llama-index LLM handed to
``Assistant.open(llm=...)``.

``stream`` runs the model in a worker thread and enforces ``timeout`` as a deadline for the whole
reply; every failure becomes an ``LLMError`` (``LLMTimeoutError`` for the deadline), so the caller can
fall back to the extractive answer.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from assistant.errors import LLMError, LLMTimeoutError

__all__ = ["ChatModel", "Messages", "LlamaIndexChat", "as_chat_model", "is_in_process", "llama_messages"]

Messages = Sequence[tuple[str, str]]  # [(role, text)], roles "system" / "user" / "assistant"


@runtime_checkable
class ChatModel(Protocol):
    """What answering needs from an LLM."""

    name: str
    serial: bool

    def stream(self, messages: Messages, timeout: float) -> Iterator[str]:
        """Text deltas of the reply, within ``timeout`` seconds in all; ``LLMError`` on any failure."""
        ...

    def complete(self, messages: Messages, timeout: float) -> str:
        """The whole reply (same deadline and errors as ``stream``)."""
        ...


def is_in_process(llm: Any) -> bool:
    """True for a llama-index LLM that runs inside this process (llama.cpp). Its module is imported only
    when such an object exists, so the check imports nothing."""
    mod = sys.modules.get("llama_index.llms.llama_cpp")
    cls = getattr(mod, "LlamaCPP", None) if mod is not None else None
    return cls is not None and isinstance(llm, cls)


class LlamaIndexChat:
    """A llama-index LLM (``client``) as a :class:`ChatModel`. ``serial=True`` puts every call behind one
    lock: a reply that timed out may still be reading its prompt when the next question comes; the next
    one waits for it instead of crashing the model."""

    def __init__(self, client: Any, *, serial: bool, name: str | None = None,
                 prepare: Callable[[Messages], object] | None = None):
        self.client = client
        self.serial = serial
        self.name = name or _describe(client)
        self.prepare = prepare  # called with the messages before each reply, under the lock (prompt states)
        self._lock = threading.Lock() if serial else None

    def __repr__(self) -> str:
        return f"LlamaIndexChat({self.name}, serial={self.serial})"

    def stream(self, messages: Messages, timeout: float) -> Iterator[str]:
        """Text deltas of the reply to ``messages``, within ``timeout`` seconds in all.

        Raises ``LLMTimeoutError`` past the deadline and ``LLMError`` for any failure of the model or
        server (connection refused, HTTP 500, a malformed reply). The worker thread is told to stop when
        the caller stops reading.
        """
        chat = llama_messages(messages)
        q: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()
        lock = self._lock

        def work() -> None:
            try:
                with lock or nullcontext():
                    if self.prepare is not None:
                        self.prepare(messages)
                    gen = self.client.stream_chat(chat)
                    try:
                        for r in gen:
                            if stop.is_set():
                                break
                            q.put(("delta", getattr(r, "delta", None) or ""))
                    finally:
                        close = getattr(gen, "close", None)
                        if close is not None:
                            close()  # stops a local model's generation; inside the lock
                q.put(("end", None))
            except BaseException as e:  # noqa: BLE001 - handed to the reader, which raises LLMError
                q.put(("error", e))

        worker = threading.Thread(target=work, name="llm-stream", daemon=True)
        deadline = time.monotonic() + timeout
        worker.start()
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    if remaining <= 0:
                        raise queue.Empty
                    kind, value = q.get(timeout=remaining)
                except queue.Empty:
                    raise LLMTimeoutError(f"the LLM did not finish within {timeout:g} s (llm.timeout)") from None
                if kind == "delta":
                    if value:
                        yield value
                elif kind == "end":
                    return
                else:
                    e = value
                    if isinstance(e, LLMError):
                        raise e
                    if _is_timeout(e):
                        raise LLMTimeoutError(f"the LLM did not answer within {timeout:g} s (llm.timeout)") from e
                    raise LLMError(f"the LLM failed: {type(e).__name__}: {_short(e)}") from e
        finally:
            stop.set()

    def complete(self, messages: Messages, timeout: float) -> str:
        return "".join(self.stream(messages, timeout))


# One wrapper per in-process model object, so that every Assistant opened with the same llama.cpp model
# shares its lock (entries go when the wrapper does; the wrapper keeps the model alive).
_SERIAL_WRAPPERS: weakref.WeakValueDictionary[int, LlamaIndexChat] = weakref.WeakValueDictionary()
_SERIAL_GUARD = threading.Lock()


def as_chat_model(llm: Any, *, serial: bool | None = None) -> ChatModel | None:
    """``llm`` as a :class:`ChatModel`: a ChatModel as it is, None as None, and a llama-index LLM wrapped.
    ``serial`` defaults to :func:`is_in_process` (llama.cpp); pass it to decide explicitly."""
    if llm is None or isinstance(llm, ChatModel):
        return llm
    if not callable(getattr(llm, "stream_chat", None)):
        raise TypeError(f"llm must be a llama-index LLM or a ChatModel, not {type(llm).__name__}")
    if serial is None:
        serial = is_in_process(llm)
    if not serial:
        return LlamaIndexChat(llm, serial=False)
    with _SERIAL_GUARD:
        wrapper = _SERIAL_WRAPPERS.get(id(llm))
        if wrapper is None or wrapper.client is not llm:
            wrapper = LlamaIndexChat(llm, serial=True)
            _SERIAL_WRAPPERS[id(llm)] = wrapper
        return wrapper


def llama_messages(messages: Messages) -> list[Any]:
    """``messages`` as llama-index ``ChatMessage`` objects (what a llama-index client is sent)."""
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role=role, content=content) for role, content in messages]


def _describe(llm: Any) -> str:
    """A short name for notices and logs: "OpenAILike:qwen2.5"."""
    name = getattr(llm, "model", None) or getattr(llm, "model_path", None) or ""
    return f"{type(llm).__name__}:{Path(str(name)).name if name else '?'}"


def _is_timeout(e: BaseException) -> bool:
    names = {c.__name__ for c in type(e).__mro__}
    return bool(names & {"TimeoutError", "TimeoutException", "ReadTimeout", "APITimeoutError", "ConnectTimeout"})


def _short(e: BaseException, limit: int = 200) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
