"""A child process for tests/test_doors.py: the MCP tools over stdio, over two small articles indexed with
the fake embedder (tests/fakes.py) in the folder given as the first argument. The same tools and service
as ``assistant mcp``, which loads the real model (its own test is in the slow tier)."""

from __future__ import annotations

import sys
from pathlib import Path

from assistant import Article, Assistant, Settings
from assistant.service.service import CollectionService
from assistant.web.mcp import build_mcp
from tests.conftest import FAKE_MIN_SCORE
from tests.fakes import FakeEmbedder
from tests.test_doors import AR, EN


def main(folder: str) -> None:
    settings = Settings().replace(index_root=folder, answer={"min_score": FAKE_MIN_SCORE})
    a = Assistant.open(Path(folder) / "news", settings=settings, embedder=FakeEmbedder())
    a.add([Article(id="harbour", text=EN, title="Harbour report", lang="en"),
           Article(id="hospitals", text=AR, title="المستشفيات", lang="ar")])
    try:
        build_mcp(CollectionService.over(a)).run("stdio")
    finally:
        a.close()


if __name__ == "__main__":
    main(sys.argv[1])
