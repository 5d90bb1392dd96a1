"""A bounded property-based run of the API doors' OpenAPI description (REST and OpenAI-compatible) with
schemathesis, against the running server: every check (``--checks all``: no server error, responses and
SSE events as the schema says, every status documented, schema-valid requests accepted and invalid ones
refused, ``Allow`` on 405), for 60 seconds. tests/schemathesis.toml says the one exception and why (the date
filters are free text: a schema-valid string that is no date is a 400).

Slow tier (about a minute and a half); the fake embedder at the model boundary (tests/fakes.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant import Settings
from tests.test_doors import start_server

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_schemathesis_finds_nothing_in_a_bounded_run(tmp_path: Path, fake_embedder: Any, fake_settings: Settings) -> None:
    s = start_server(tmp_path, fake_embedder, fake_settings.replace(index_root=str(tmp_path / "indexes")))
    try:
        cli = Path(sys.executable).parent / "schemathesis"
        done = subprocess.run(
            [str(cli), "--config-file", str(ROOT / "tests" / "schemathesis.toml"), "run",
             f"{s.root}/api/v1/openapi.json", "--checks", "all", "--max-time", "60", "--max-examples", "30",
             "--seed", "20261206", "--no-color"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
        summary = done.stdout[-6000:]
        assert done.returncode == 0, summary
        assert "passed" in summary and "failures" not in summary.split("SUMMARY")[-1], summary
    finally:
        s.demo.close()
        s.a.close()
