"""What the web chat shows, as pure functions: answers, citation cards, articles, exports.

No gradio in here: everything takes the records of :mod:`assistant.types` and returns strings or plain
data, so it is tested without a server (``tests/test_ui_render.py``); :mod:`assistant.web.layout` only wires
it up. This module gathers the names; they live by what they draw:

- :mod:`assistant.web.markup`: CSS, a block's direction, escaping, highlights, status and error lines;
- :mod:`assistant.web.links`: the ``#cite/…`` and ``#article/…`` links and :func:`parse_ref`;
- :mod:`assistant.web.answers`: the question, the answer with its ``[n]`` markers and its source cards;
- :mod:`assistant.web.articles`: the article view, the article list, what an upload did;
- :mod:`assistant.web.conversation`: the turns, their chat messages, the exports and the API's data.

Safety: every piece of question, answer, title or article text goes through :func:`html.escape` before
it becomes HTML, so an article holding ``<script>`` or ``<img onerror=…>`` shows those characters and
runs nothing. The only markup is the one written here. The same step drops the invisible bidi
controls (U+202E and friends) and zero-width characters that ingest already removes from stored
text (:data:`assistant.text.reading.INVISIBLE_FORMAT`), for what ingest never saw: the question typed, and
indexes built before. Text is cut by offsets first and cleaned after, so highlights stay exact.

Direction: each block (a message, an answer line, a card, an article paragraph) carries its own ``dir``
and ``lang``, chosen from the script of its letters (:func:`assistant.text.language.detect_language`), and the
CSS gives blocks ``unicode-bidi: isolate; text-align: start``. So an Arabic reply reads right to left,
an English one left to right, and an Arabic line that opens with a name ("OPEC تخفض…") keeps Arabic
order — which ``dir="auto"`` (first strong letter wins) would get wrong.

Links: a citation marker ``[n]`` and its card are ``<a href="#cite/<collection>/<article>/<start>/<end>">``
(parts percent-encoded), an article in the list is ``#article/<collection>/<article>``; the chat's page
script turns a click on either into a request to open the article (:func:`parse_ref` reads it back).

Short answer: when ``Answer.short`` is set, the message leads with it (``p.short-line``), and its words are
marked a second time, ``<mark class="short-answer">`` inside the sentence's ``mark.cite-hl`` (the card of
citation ``short.n``) or ``mark.cited`` (the article view): the ``#cite/…`` link of that citation carries
the short span as two more offsets, ``…/<start>/<end>/<short start>/<short end>``.
"""

from __future__ import annotations

from assistant.web.answers import (
    CARD_CONTEXT_CHARS,
    answer_html,
    citation_card_html,
    paragraph_bounds,
    pending_html,
    question_html,
    short_span,
)
from assistant.web.articles import (
    article_choices,
    article_html,
    article_placeholder_html,
    articles_table_html,
    ingest_report_html,
)
from assistant.web.conversation import (
    Turn,
    api_answer,
    conversation_json,
    conversation_markdown,
    conversation_messages,
    feedback_record,
    turn_messages,
)
from assistant.web.links import Ref, article_href, cite_href, parse_ref
from assistant.web.markup import CSS, block_dir, direction, error_html, status_html

__all__ = [
    "CSS",
    "CARD_CONTEXT_CHARS",
    "EXAMPLE_QUESTIONS",
    "Ref",
    "Turn",
    "direction",
    "block_dir",
    "cite_href",
    "article_href",
    "parse_ref",
    "paragraph_bounds",
    "short_span",
    "question_html",
    "pending_html",
    "answer_html",
    "error_html",
    "citation_card_html",
    "turn_messages",
    "conversation_messages",
    "article_html",
    "article_placeholder_html",
    "articles_table_html",
    "article_choices",
    "ingest_report_html",
    "status_html",
    "api_answer",
    "feedback_record",
    "conversation_markdown",
    "conversation_json",
]

EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "كم عدد القوات الأجنبية في أفغانستان؟",
    "ماذا تريد إيران مقابل المحادثات؟",
    "How many foreign troops are in Afghanistan?",
    "Who opposes easing sanctions on Iran?",
)
