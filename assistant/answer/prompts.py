"""Prompt templates: text files, one per role and language, rendered strictly.

Files are named ``<prompt>.<role>.<lang>.txt`` (``answer.system.ar.txt``, ``condense.user.en.txt``) and
looked up first in the user's folder (``settings.llm.prompts_dir``), then in the shipped ``prompts/``
folder (``assistant.resources.data_path("prompts")``). A variable is written ``{{ name }}``.

Strict rendering: a template that uses a variable its prompt does not define, or leaves out one the
prompt requires (an answer prompt without ``{{ sources }}``), is a ``ConfigError`` naming the file; so is
a render call that does not give every variable the template uses. Values are inserted without the
invisible characters of :func:`assistant.text.characters.clean_text` (stored text keeps them, the model is
not shown them) and never re-read as template text (an article that contains ``{{ question }}`` stays
literal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ConfigError
from assistant.resources import data_path
from assistant.text.characters import clean_text

__all__ = ["PromptSpec", "SPECS", "Template", "load_template", "render_messages", "format_sources", "NO_ANSWER"]

NO_ANSWER = "NO_ANSWER"  # what the prompts ask the model to write when the sources do not answer

_VAR = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class PromptSpec:
    """The variables a prompt role may use (``allowed``) and must use (``required``)."""

    allowed: frozenset[str]
    required: frozenset[str]


SPECS: dict[tuple[str, str], PromptSpec] = {
    ("answer", "system"): PromptSpec(frozenset({"n_sources"}), frozenset()),
    ("answer", "user"): PromptSpec(frozenset({"question", "sources", "n_sources"}), frozenset({"question", "sources"})),
    ("condense", "system"): PromptSpec(frozenset(), frozenset()),
    ("condense", "user"): PromptSpec(frozenset({"question", "history"}), frozenset({"question", "history"})),
    ("short", "system"): PromptSpec(frozenset(), frozenset()),
    ("short", "user"): PromptSpec(frozenset({"question", "sentence"}), frozenset({"question", "sentence"})),
    ("translate", "system"): PromptSpec(frozenset(), frozenset()),
    ("translate", "user"): PromptSpec(frozenset({"question", "phrase"}), frozenset({"phrase"})),
}


@dataclass(frozen=True)
class Template:
    """One prompt file, checked against its spec when loaded."""

    name: str
    role: str
    lang: str
    path: Path
    text: str
    variables: frozenset[str]

    def render(self, **values: object) -> str:
        missing = sorted(self.variables - values.keys())
        if missing:
            raise ConfigError(f"prompt {self.path} uses {{{{ {missing[0]} }}}} but no value was given for it")
        # the model is never shown the bidi, zero-width and control characters stored text may hold
        return _VAR.sub(lambda m: clean_text(str(values[m.group(1)])), self.text)


def _lang_key(lang: str) -> str:
    return "ar" if lang == "ar" else "en"


def load_template(name: str, role: str, lang: str, user_dir: Path | None = None) -> Template:
    """The template ``<name>.<role>.<lang>.txt``, from ``user_dir`` when it has one, else the shipped one."""
    spec = SPECS.get((name, role))
    if spec is None:
        raise ConfigError(f"no prompt {name}.{role}; known: {', '.join(f'{n}.{r}' for n, r in SPECS)}")
    fname = f"{name}.{role}.{_lang_key(lang)}.txt"
    folders = ([Path(user_dir).expanduser()] if user_dir else []) + [data_path("prompts")]
    path = next((f / fname for f in folders if (f / fname).is_file()), None)
    if path is None:
        raise ConfigError(f"prompt file {fname} not found in {', '.join(map(str, folders))}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read prompt {path} ({e}); it must be UTF-8 text") from e
    used = set()
    for m in _VAR.finditer(text):
        var = m.group(1)
        if not _IDENT.match(var) or var not in spec.allowed:
            allowed = ", ".join(sorted(spec.allowed)) or "none"
            raise ConfigError(f"prompt {path} uses unknown variable {{{{ {var} }}}}; {name}.{role} allows: {allowed}")
        used.add(var)
    lacking = sorted(spec.required - used)
    if lacking:
        raise ConfigError(f"prompt {path} must use {{{{ {lacking[0]} }}}} ({name}.{role} requires "
                          f"{', '.join(sorted(spec.required))})")
    return Template(name, role, _lang_key(lang), path, text, frozenset(used))


def render_messages(name: str, lang: str, user_dir: Path | None = None, **values: object) -> list[tuple[str, str]]:
    """[("system", text), ("user", text)] for prompt ``name`` in language ``lang``."""
    return [
        (role, load_template(name, role, lang, user_dir).render(**values).strip())
        for role in ("system", "user")
    ]


_TAG = re.compile(r"<\s*/?\s*sources\s*>", re.IGNORECASE)


def format_sources(sentences: list[str]) -> str:
    """Numbered source lines ``[1] ...`` for the data section of the answer prompt.

    Each sentence is one line (line breaks become spaces) and cannot close the data section: a
    ``<sources>`` or ``</sources>`` tag inside an article is defused to ``‹sources›``.
    """
    lines = []
    for n, s in enumerate(sentences, 1):
        flat = " ".join(s.split())
        flat = _TAG.sub("‹sources›", flat)
        lines.append(f"[{n}] {flat}")
    return "\n".join(lines)
