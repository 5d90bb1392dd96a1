"""Cited answers over Arabic and English news articles.

>>> from assistant import Assistant
>>> a = Assistant.open("indexes/news")
>>> a.add(["articles/"])
>>> a.ask("كم عدد القوات الأجنبية في أفغانستان؟").citations[0].text

Importing the package sets nothing (no environment variable, no global): the entry points call
:func:`assistant.telemetry.quiet_telemetry`, and so does :meth:`Assistant.open`.
"""

from __future__ import annotations

from assistant import errors as _errors
from assistant.assistant import Assistant
from assistant.errors import *  # noqa: F403 - the whole exception tree, listed once in errors.__all__
from assistant.retrieve.filters import ArticleFilter  # noqa: F401 - re-exported through __all__ below
from assistant.settings import Settings
from assistant.types import (  # noqa: F401 - re-exported through __all__ below
    Answer,
    AnswerChange,
    Article,
    ArticleInfo,
    Citation,
    IngestReport,
    Passage,
    Sentence,
    ShortAnswer,
    StreamEvent,
)

__version__ = "0.1.0"

_RECORDS = ["Article", "ArticleInfo", "Sentence", "Passage", "Citation", "Answer", "ShortAnswer", "AnswerChange",
            "IngestReport", "StreamEvent", "ArticleFilter"]
__all__ = ["Assistant", "Settings", *_RECORDS, *_errors.__all__, "__version__"]
