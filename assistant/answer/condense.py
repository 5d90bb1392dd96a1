"""A follow-up question rewritten by the LLM to stand alone (prompts/condense.*).

On any failure the caller uses the heuristic of assistant/answer/followup.py instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from assistant.answer.prompts import NO_ANSWER, render_messages
from assistant.errors import LLMError
from assistant.models.chat import ChatModel
from assistant.text.language import detect_language

__all__ = ["condense_question"]

log = logging.getLogger(__name__)

_LABEL = re.compile(r"^\s*(standalone question|question|السؤال المستقل|السؤال)\s*[:：]\s*", re.IGNORECASE)


def condense_question(
    chat: ChatModel,
    question: str,
    history: Sequence[str],
    *,
    prompts_dir: Path | None = None,
    timeout: float,
) -> str | None:
    """``question`` rewritten by ``chat`` to stand alone given the earlier ``history`` (oldest first), or
    None when the model fails or its reply is not a usable question (empty, multi-paragraph, in another
    language, much longer than the inputs). ``prompts_dir`` and ``timeout``: ``settings.llm``'s."""
    lang = detect_language(question, default="ar")
    hist = "\n".join(f"- {' '.join(h.split())}" for h in list(history)[-5:])
    messages = render_messages("condense", lang, prompts_dir, question=question, history=hist)
    try:
        reply = chat.complete(messages, timeout)
    except LLMError as e:
        log.warning("follow-up rewrite by the LLM failed, using the heuristic: %s", e)
        return None
    line = next((x.strip() for x in reply.splitlines() if x.strip()), "")
    line = _LABEL.sub("", line).strip().strip("\"'«»“”").strip()
    if not line or NO_ANSWER in line:
        return None
    if len(line) > 2 * (len(question) + max(len(h) for h in history)) + 20:
        return None
    if detect_language(line, default=lang) != lang:
        return None
    return line
