"""The ChatModel wrapper over llama-index clients (assistant/models/chat.py): deadline, errors, the lock of
in-process models, wrapping what ``Assistant.open(llm=...)`` is given.

The client below is a FAKE of llama-index's LLM at its ``stream_chat`` boundary (the one method the wrapper
calls), so that timing and overlap can be controlled exactly; the real client over HTTP is exercised in
tests/test_generate.py.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from assistant.errors import LLMError, LLMTimeoutError
from assistant.models.chat import ChatModel, LlamaIndexChat, as_chat_model, is_in_process

MESSAGES = [("system", "be brief"), ("user", "hello")]


class FakeClient:
    """``stream_chat`` yields ``pieces`` (one every ``delay`` s) and records how many calls overlap."""

    def __init__(self, pieces: list[str], delay: float = 0.0, error: BaseException | None = None):
        self.pieces, self.delay, self.error = pieces, delay, error
        self.model = "fake-7b"
        self.active = 0
        self.most_active = 0
        self.seen: list[list[tuple[str, str]]] = []
        self._guard = threading.Lock()

    def stream_chat(self, messages):  # noqa: ANN001, ANN201 - llama-index's signature
        self.seen.append([(getattr(m.role, "value", m.role), m.content) for m in messages])
        with self._guard:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            if self.error is not None:
                raise self.error
            for p in self.pieces:
                time.sleep(self.delay)
                yield SimpleNamespace(delta=p)
        finally:
            with self._guard:
                self.active -= 1


def test_stream_and_complete() -> None:
    client = FakeClient(["Hel", "lo", "", "."])
    chat = LlamaIndexChat(client, serial=False)
    assert isinstance(chat, ChatModel) and chat.name == "FakeClient:fake-7b" and not chat.serial
    assert list(chat.stream(MESSAGES, 5)) == ["Hel", "lo", "."]  # empty deltas are skipped
    assert chat.complete(MESSAGES, 5) == "Hello."
    assert client.seen[0] == MESSAGES  # roles and texts reach llama-index's ChatMessage unchanged


def test_the_deadline_covers_the_whole_reply() -> None:
    chat = LlamaIndexChat(FakeClient(["a"] * 50, delay=0.05), serial=False)
    t0 = time.perf_counter()
    with pytest.raises(LLMTimeoutError, match="did not finish within 0.3 s"):
        chat.complete(MESSAGES, 0.3)
    assert time.perf_counter() - t0 < 2


def test_failures_become_llm_errors() -> None:
    with pytest.raises(LLMError, match="RuntimeError: boom") as info:
        LlamaIndexChat(FakeClient([], error=RuntimeError("boom")), serial=False).complete(MESSAGES, 5)
    assert not isinstance(info.value, LLMTimeoutError)

    class ReadTimeout(Exception):
        pass

    with pytest.raises(LLMTimeoutError):
        LlamaIndexChat(FakeClient([], error=ReadTimeout("slow")), serial=False).complete(MESSAGES, 5)


def _overlap(chat: LlamaIndexChat) -> None:
    threads = [threading.Thread(target=chat.complete, args=(MESSAGES, 10)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_serial_model_runs_one_reply_at_a_time() -> None:
    server = FakeClient(["x"] * 4, delay=0.03)
    _overlap(LlamaIndexChat(server, serial=False))
    assert server.most_active > 1  # a server takes concurrent requests
    local = FakeClient(["x"] * 4, delay=0.03)
    _overlap(LlamaIndexChat(local, serial=True))
    assert local.most_active == 1


def test_as_chat_model_wraps_a_llama_index_llm() -> None:
    assert as_chat_model(None) is None
    chat = LlamaIndexChat(FakeClient([]), serial=False)
    assert as_chat_model(chat) is chat  # a ChatModel as it is
    client = FakeClient(["ok"])
    wrapped = as_chat_model(client)
    assert isinstance(wrapped, LlamaIndexChat) and wrapped.client is client and not wrapped.serial
    assert not is_in_process(client)  # not llama.cpp
    # an explicitly serial model: one wrapper (one lock) however many times it is handed over
    first, again = as_chat_model(client, serial=True), as_chat_model(client, serial=True)
    assert first is again and first.serial
    with pytest.raises(TypeError, match="llama-index LLM or a ChatModel"):
        as_chat_model("gpt-4")
