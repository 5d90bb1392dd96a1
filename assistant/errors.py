"""The exceptions this package raises. Catch at the level you care about::

    AssistantError                  anything raised on purpose by this package
    ├── ConfigError                 a setting is missing, unknown or inconsistent
    │   └── CollectionNotFoundError a server was asked for a collection it does not have
    ├── IngestError                 one input could not be read; names the file (or article id) and the fix
    │   ├── UnsupportedFormatError  an extension or content type we do not read
    │   ├── DecodingError           bytes that are not text in any encoding we detect
    │   ├── EmptyArticleError       no text left after extraction
    │   ├── FileTooLargeError       over the configured size limit
    │   └── MalformedInputError     broken JSON/JSONL/HTML structure
    ├── IndexError_                 the index on disk cannot be used as asked
    │   ├── IndexNotFoundError      a command that reads an index named one that is not there
    │   ├── IndexMismatchError      built with another model, splitter or chunking; says how to rebuild
    │   ├── IndexLockedError        another process is writing this index
    │   ├── StorageFullError        the disk holding the index filled up during a write; says what to do
    │   ├── StoreUnavailableError   the vector server (store.chroma_url) stopped answering; names it
    │   └── IndexCorruptError       parts of the index disagree and could not be repaired
    ├── ArticleNotFoundError        an article id that is not in the index
    ├── DateError                   a date (an article's, or a filter's) in no form we read; lists the forms
    ├── EmbeddingError              the embedding backend failed to load or run
    ├── ModelIntegrityError         a fetched model's files differ from the pinned sizes and digests
    └── LLMError                    the generative backend failed (the caller falls back to extractive)
        └── LLMTimeoutError
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AssistantError",
    "ConfigError",
    "CollectionNotFoundError",
    "IngestError",
    "UnsupportedFormatError",
    "DecodingError",
    "EmptyArticleError",
    "FileTooLargeError",
    "MalformedInputError",
    "IndexError_",
    "IndexNotFoundError",
    "IndexMismatchError",
    "IndexLockedError",
    "StorageFullError",
    "StoreUnavailableError",
    "IndexCorruptError",
    "ArticleNotFoundError",
    "DateError",
    "EmbeddingError",
    "ModelIntegrityError",
    "LLMError",
    "LLMTimeoutError",
]


class AssistantError(Exception):
    """Base of every exception raised on purpose by this package."""


class ConfigError(AssistantError):
    """A setting is missing, unknown or inconsistent."""


class CollectionNotFoundError(ConfigError):
    """A server (chat, REST, OpenAI, MCP) was asked for a collection it does not have."""


class IngestError(AssistantError):
    """One input could not be ingested. ``source`` names the file or article id; ``reason`` says why."""

    def __init__(self, source: str | Path, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class UnsupportedFormatError(IngestError):
    pass


class DecodingError(IngestError):
    pass


class EmptyArticleError(IngestError):
    pass


class FileTooLargeError(IngestError):
    pass


class MalformedInputError(IngestError):
    pass


class IndexError_(AssistantError):
    """The index on disk cannot be used as asked. (Trailing underscore: not the builtin IndexError.)"""


class IndexNotFoundError(IndexError_):
    """A command that only reads or changes an index (articles, remove, rebuild) named one that is not there."""


class IndexMismatchError(IndexError_):
    pass


class IndexLockedError(IndexError_):
    pass


class StorageFullError(IndexError_):
    """The disk (or quota) holding the index filled up during a write. What was committed before stays;
    the interrupted write is repaired by the next one."""


class StoreUnavailableError(IndexError_):
    """The vector server (``store.chroma_url``) does not answer. Nothing is lost: ask again once it is back."""


class IndexCorruptError(IndexError_):
    pass


class ArticleNotFoundError(AssistantError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class DateError(AssistantError, ValueError):
    """A date in no form :mod:`assistant.text.dates` reads. ``value`` is what was given."""

    def __init__(self, value: object, reason: str):
        self.value = value
        self.reason = reason
        super().__init__(f"date {value!r} {reason}")


class EmbeddingError(AssistantError):
    pass


class ModelIntegrityError(AssistantError):
    """A fetched model's file differs from its pinned size or SHA-256 (assistant/models/verify.py); the
    message names the file and the command that fetches it again."""


class LLMError(AssistantError):
    pass


class LLMTimeoutError(LLMError):
    pass
