"""Which articles a question may be answered from: by source, date range, language and id.

:class:`ArticleFilter` is what ``Assistant.ask`` / ``ask_stream`` / ``search`` take as ``where=``, or
build from their filter keywords (:class:`FilterKeywords`, declared here once); every field left out
matches everything. It becomes the list of article ids the retriever searches within (``None``: no
filter; an empty list: nothing matches). A new filter is a field here and a keyword there, nothing else.

- ``sources``: the article's source equals one of them (case and surrounding spaces ignored);
- ``date_from`` / ``date_to``: ISO 8601 or any form of :mod:`assistant.text.dates` (a bad one raises
  ``DateError`` with the forms); an article matches when the days its date covers overlap the range
  (``2019-06`` is inside ``date_from="2019-06-15"``); an article without a date never matches a date
  filter;
- ``languages``: the article's language code (``ar``, ``en``);
- ``article_ids``: those ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypedDict

from assistant.errors import ConfigError
from assistant.text.dates import date_bounds, normalize_date
from assistant.types import ArticleInfo

__all__ = ["ArticleFilter", "FilterKeywords"]


class FilterKeywords(TypedDict, total=False):
    """The filter keywords of ``Assistant.ask`` / ``ask_stream`` / ``search`` (``**filters``), as
    :meth:`ArticleFilter.of` takes them."""

    article_ids: Sequence[str] | None
    sources: Sequence[str] | str | None
    date_from: str | None
    date_to: str | None
    languages: Sequence[str] | str | None


def _strings(name: str, values: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    out = tuple(str(v) for v in values)
    if not out:
        raise ConfigError(f"{name} is an empty list: leave it out to allow every value")
    return out


@dataclass(frozen=True)
class ArticleFilter:
    sources: tuple[str, ...] | None = None
    date_from: str | None = None  # YYYY-MM-DD: the first day allowed
    date_to: str | None = None  # YYYY-MM-DD: the last day allowed
    languages: tuple[str, ...] | None = None
    article_ids: tuple[str, ...] | None = None

    @classmethod
    def of(cls, *, sources: Sequence[str] | str | None = None, date_from: str | None = None,
           date_to: str | None = None, languages: Sequence[str] | str | None = None,
           article_ids: Sequence[str] | None = None) -> ArticleFilter:
        """The filter of these arguments; DateError for a date in no form we read, ConfigError for an
        empty list or a range that ends before it starts."""
        lo = date_bounds(normalize_date(date_from))[0] if date_from else None
        hi = date_bounds(normalize_date(date_to))[1] if date_to else None
        if lo and hi and lo > hi:
            raise ConfigError(f"date_from {date_from!r} is after date_to {date_to!r}")
        langs = _strings("languages", languages)
        return cls(
            sources=tuple(" ".join(s.split()).casefold() for s in _strings("sources", sources) or ()) or None,
            date_from=lo, date_to=hi, languages=tuple(x.strip().lower() for x in langs) if langs else None,
            article_ids=tuple(dict.fromkeys(article_ids)) if article_ids is not None else None,
        )

    @classmethod
    def given(cls, where: ArticleFilter | None, keywords: FilterKeywords) -> ArticleFilter:
        """The filter of a call that takes ``where=`` or the keywords (not both: ConfigError)."""
        if where is not None and any(v is not None for v in keywords.values()):
            raise ConfigError("give the filter as where=ArticleFilter.of(...) or as keywords, not both")
        return where if where is not None else cls.of(**keywords)

    @property
    def empty(self) -> bool:
        """True when the filter allows every article."""
        return all(getattr(self, f) is None for f in ("sources", "date_from", "date_to", "languages", "article_ids"))

    def matches(self, info: ArticleInfo) -> bool:
        if self.article_ids is not None and info.id not in self.article_ids:
            return False
        if self.sources is not None and " ".join((info.source or "").split()).casefold() not in self.sources:
            return False
        if self.languages is not None and (info.lang or "").lower() not in self.languages:
            return False
        if self.date_from or self.date_to:
            if not info.date:
                return False
            try:
                first, last = date_bounds(normalize_date(info.date))
            except ValueError:  # a date stored before dates were normalized, in no form we read
                return False
            if (self.date_from and last < self.date_from) or (self.date_to and first > self.date_to):
                return False
        return True

    def article_ids_in(self, infos: Iterable[ArticleInfo]) -> list[str] | None:
        """The ids of ``infos`` the filter allows; None when it allows everything (no filter at all)."""
        if self.empty:
            return None
        if self.article_ids is not None and not (self.sources or self.languages or self.date_from or self.date_to):
            return list(self.article_ids)
        return [i.id for i in infos if self.matches(i)]
