"""Cited answers over Arabic and English news articles.

>>> from assistant import Assistant
>>> a = Assistant.open("indexes/news")
>>> a.add(["articles/"])
>>> a.ask("كم عدد القوات الأجنبية في أفغانستان؟").citations[0].text

Importing the package sets nothing (no environment variable, no global): the entry points call
:func:`assistant.telemetry.quiet_telemetry`, and so does :meth:`Assistant.open`.
"""

from __future__ import annotations

from assistant.assistant import Assistant
from assistant.errors import (
    ArticleNotFoundError,
    AssistantError,
    ConfigError,
    DecodingError,
    EmbeddingError,
    EmptyArticleError,
    FileTooLargeError,
    IndexCorruptError,
    IndexError_,
    IndexLockedError,
    IndexMismatchError,
    IngestError,
    LLMError,
    LLMTimeoutError,
    MalformedInputError,
    UnsupportedFormatError,
)
from assistant.settings import Settings
from assistant.types import Answer, AnswerChange, Article, ArticleInfo, Citation, IngestReport, Passage, Sentence

__version__ = "0.1.0"

__all__ = [
    "Assistant",
    "Settings",
    "Article",
    "ArticleInfo",
    "Sentence",
    "Passage",
    "Citation",
    "Answer",
    "AnswerChange",
    "IngestReport",
    "AssistantError",
    "ConfigError",
    "IngestError",
    "UnsupportedFormatError",
    "DecodingError",
    "EmptyArticleError",
    "FileTooLargeError",
    "MalformedInputError",
    "IndexError_",
    "IndexMismatchError",
    "IndexLockedError",
    "IndexCorruptError",
    "ArticleNotFoundError",
    "EmbeddingError",
    "LLMError",
    "LLMTimeoutError",
    "__version__",
]
