"""Shared fixtures. Real components: the real default embedder, a real embedded Chroma in a temp folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant import Assistant, Settings  # noqa: E402
from assistant.models.embeddings import build_embedder  # noqa: E402
from assistant.resources import data_path  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE_ID = "000_4c5fb14b2b4183a2"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's settings or writes outside its temp folder."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ASSISTANT_INDEX_ROOT", str(tmp_path / "indexes"))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def embedder(settings: Settings):  # noqa: ANN201
    """The real default embedding model, loaded once."""
    return build_embedder(settings.embedding)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return data_path("samples")


@pytest.fixture(scope="session")
def sample_assistant(tmp_path_factory: pytest.TempPathFactory, embedder, settings: Settings, sample_dir: Path):  # noqa: ANN001, ANN201
    """A read-only index of the bundled sample articles, shared by the tests that only ask."""
    path = tmp_path_factory.mktemp("idx") / "sample"
    a = Assistant.open(path, settings=settings, embedder=embedder)
    rep = a.add([sample_dir])
    assert not rep.failed, rep.failed
    yield a
    a.close()


@pytest.fixture
def new_assistant(tmp_path: Path, embedder, settings: Settings):  # noqa: ANN001, ANN201
    """A fresh, empty index in this test's temp folder."""
    a = Assistant.open(tmp_path / "fresh", settings=settings, embedder=embedder)
    yield a
    a.close()


def shared_qa(name: str) -> Path:
    path = SHARED / "qa" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared dev sets live in ../shared/data beside the project")
    return path
