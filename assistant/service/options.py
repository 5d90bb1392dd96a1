"""What a door passes with a question, declared once: :class:`Filters` (which articles) and
:class:`AnswerOptions` (mode, citation count, history and the filters) and :class:`AskOptions` (those and
the collection).

Every door builds these from its own input: the REST body (``POST /api/v1/ask``), the OpenAI request's
extra fields, the MCP tools' arguments, the chat page's inputs. A new option is a field here; the doors'
schemas follow from it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import ConfigError
from assistant.retrieve.filters import ArticleFilter

__all__ = ["Filters", "AnswerOptions", "AskOptions"]


class Filters(BaseModel):
    """Which articles may answer: every field left empty allows everything."""

    model_config = ConfigDict(extra="forbid", strict=True)  # false is not 0, "1" is not 1

    article_ids: list[str] = Field(default_factory=list, description="Only these articles; empty: all.")
    sources: list[str] = Field(default_factory=list, description="Only articles from these sources; empty: all.")
    date_from: str = Field("", description='Only articles dated on or after this day (2019-06-01, "1 يونيو 2019"); '
                                           "empty: no limit. A date in no form we read is refused (400, DateError).")
    date_to: str = Field("", description="Only articles dated on or before this day; empty: no limit.")
    languages: list[str] = Field(default_factory=list,
                                 description='Only articles in these languages ("ar", "en"); empty: all.')

    def to_filter(self) -> ArticleFilter:
        """The :class:`ArticleFilter` (DateError for a date in no form we read)."""
        return ArticleFilter.of(article_ids=self.article_ids or None, sources=self.sources or None,
                                date_from=self.date_from.strip() or None, date_to=self.date_to.strip() or None,
                                languages=self.languages or None)


class AnswerOptions(Filters):
    """How to answer: the filters, the mode, the citation count and the conversation's history."""

    mode: Literal["", "extractive", "generative"] = Field(
        "", description='"extractive" or "generative"; empty: the server\'s setting.')
    max_citations: int = Field(0, ge=0, le=20, description="Most sentences cited; 0: the server's setting.")
    history: list[str] = Field(default_factory=list,
                               description="Earlier questions of the conversation, oldest first (for follow-ups).")


class AskOptions(AnswerOptions):
    """How and where to answer one question: :class:`AnswerOptions` and the collection."""

    collection: str = Field("", description="The collection (index); empty: the one the server started with.")

    @classmethod
    def of(cls, **fields: Any) -> AskOptions:
        """The options from plain values (a form's, a Python caller's: 3.0 is taken for 3 here, unlike from
        JSON); ConfigError naming the field at fault."""
        try:
            return cls.model_validate(fields, strict=False)
        except ValidationError as e:
            raise ConfigError("; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']} (got {err['input']!r})"
                                        for err in e.errors())) from None
