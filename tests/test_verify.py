"""Verified model files (assistant/models/verify.py): pinned sizes and SHA-256, a cached stamp, refusal
with the fix; the digest in the index manifest. Small files made here stand in for the model's files
(the check is the same code for 1 KB and 1.2 GB); one slow test checks the real fetched model."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from assistant.errors import IndexMismatchError, ModelIntegrityError
from assistant.models import verify
from assistant.store.manifest import Manifest

FIX = "fetch it again: `assistant models fetch --force`"


def _model(folder: Path) -> dict[str, tuple[int, str]]:
    files = {"model.safetensors": b"weights" * 100, "sub/config.json": b'{"dim": 768}'}
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()}


def test_a_pinned_folder_verifies_once_then_by_its_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pins = _model(tmp_path)
    digest = verify.verify_folder(tmp_path, pins, "model", FIX)
    stamp = json.loads((tmp_path / ".verified.json").read_text())
    assert set(stamp) == set(pins) and len(digest) == 64
    hashed: list[Path] = []
    real = verify.sha256_of
    monkeypatch.setattr(verify, "sha256_of", lambda p: hashed.append(p) or real(p))
    assert verify.verify_folder(tmp_path, pins, "model", FIX) == digest
    assert hashed == []  # unchanged files: a stat each, no hashing
    os.utime(tmp_path / "sub/config.json", ns=(1, 1))  # touched: hashed again (same content, still fine)
    assert verify.verify_folder(tmp_path, pins, "model", FIX) == digest
    assert hashed == [tmp_path / "sub/config.json"]


def test_a_changed_file_of_the_same_size_is_caught(tmp_path: Path) -> None:
    pins = _model(tmp_path)
    verify.verify_folder(tmp_path, pins, "model", FIX)
    weights = tmp_path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[10] ^= 1
    weights.write_bytes(bytes(data))  # same size, a new modification time
    with pytest.raises(ModelIntegrityError, match=r"model: model.safetensors has SHA-256 [0-9a-f]{64}, not the "
                                                  r"pinned [0-9a-f]{64}; fetch it again: `assistant models fetch --force`"):
        verify.verify_folder(tmp_path, pins, "model", FIX)


def test_a_wrong_size_or_a_missing_file_is_refused_without_hashing(tmp_path: Path) -> None:
    pins = _model(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"short")
    with pytest.raises(ModelIntegrityError, match="model.safetensors is 5 bytes, not the 700 of the pinned model"):
        verify.verify_folder(tmp_path, pins, "model", FIX)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(ModelIntegrityError, match="model.safetensors is missing from"):
        verify.verify_folder(tmp_path, pins, "model", FIX)


def test_one_file_with_its_stamp_beside_it(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 60)
    sha = hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert verify.verify_file(gguf, 64, sha, "the local LLM", "assemble it again") == sha
    assert (tmp_path / "m.gguf.verified.json").is_file()
    with pytest.raises(ModelIntegrityError, match="the local LLM: m.gguf is 64 bytes, not the 65"):
        verify.verify_file(gguf, 65, sha, "the local LLM", "assemble it again")


def test_the_manifest_refuses_another_model_digest_but_not_a_missing_one(tmp_path: Path) -> None:
    base = dict(format_version=1, embedding_model="m", embedding_dim=8, splitter_version="1", tokenizer_version="1",
                chunk_max_sentences=5, chunk_max_chars=900, max_sentence_chars=1000)
    built = Manifest(**base, embedding_digest="a" * 64)
    built.check_compatible(Manifest(**base, embedding_digest="a" * 64), tmp_path)
    built.check_compatible(Manifest(**base), tmp_path)  # a model without pins
    Manifest(**base).check_compatible(Manifest(**base, embedding_digest="a" * 64), tmp_path)  # an older index
    with pytest.raises(IndexMismatchError, match="embedding_digest"):
        built.check_compatible(Manifest(**base, embedding_digest="b" * 64), tmp_path)


@pytest.mark.slow
def test_the_fetched_model_verifies_and_its_digest_is_in_the_manifest(tmp_path: Path) -> None:
    from assistant import Assistant, Settings
    from assistant.models.embedding.factory import build_embedder
    from assistant.models.fetch import gemma_path

    if not (gemma_path(Settings().paths.models) / "modules.json").exists():
        pytest.skip("the default model is not fetched: `assistant models fetch`")
    settings = Settings()
    embedder = build_embedder(settings.embedding)
    assert embedder.weights_digest == verify.verify_folder(gemma_path(Settings().paths.models), verify.GEMMA_FILES, "m", FIX)
    with Assistant.open(tmp_path / "idx", settings=settings, embedder=embedder):
        pass
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["embedding_digest"] == embedder.weights_digest
