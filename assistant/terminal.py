"""Text for terminals: logical order by default; shaped and reordered for terminals that do neither."""

from __future__ import annotations

from assistant.text.characters import clean_text
from assistant.text.language import has_arabic

__all__ = ["shape_line", "render"]


def shape_line(line: str) -> str:
    """Join Arabic letters into their contextual forms and put the line in visual (display) order."""
    if not has_arabic(line):
        return line
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(line))


def render(text: str, shape: bool = False) -> str:
    """``text`` for a terminal: without bidi controls, zero-width characters and stray controls (stored
    text may hold them; they could reorder what is shown or drive the terminal), in logical order, or
    line by line shaped for a terminal without bidi support."""
    text = clean_text(text)
    if not shape:
        return text
    return "\n".join(shape_line(line) for line in text.split("\n"))
