"""Cited answers over Arabic and English news articles.

>>> from assistant import Assistant
>>> a = Assistant.open("indexes/news")
>>> a.add(["articles/"])
>>> a.ask("كم عدد القوات الأجنبية في أفغانستان؟").citations[0].text
"""

from __future__ import annotations

import os as _os

# Nothing phones home: set before chromadb / gradio / onnxruntime / huggingface are imported.
for _k, _v in (
    ("ANONYMIZED_TELEMETRY", "False"),
    ("ORT_DISABLE_TELEMETRY", "1"),
    ("GRADIO_ANALYTICS_ENABLED", "False"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    _os.environ.setdefault(_k, _v)

from assistant.assistant import Assistant  # noqa: E402
from assistant.errors import (  # noqa: E402
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
from assistant.settings import Settings  # noqa: E402
from assistant.types import Answer, AnswerChange, Article, ArticleInfo, Citation, IngestReport, Passage, Sentence  # noqa: E402

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
