"""The catalog's embedding cache shared between indexes (no model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.store.catalog import Catalog


def test_seed_vectors_copies_other_caches_and_keeps_its_own(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    src = Catalog(tmp_path / "a" / "catalog.sqlite")
    with src.transaction() as conn:
        Catalog.put_vectors(conn, {"k1": np.ones(4, np.float32), "k2": np.zeros(4, np.float32)})
    src.close()
    dst = Catalog(tmp_path / "b.sqlite")
    with dst.transaction() as conn:
        Catalog.put_vectors(conn, {"k1": np.full(4, 7, np.float32)})
    # a folder, and a path that is no catalog (skipped)
    assert dst.seed_vectors([tmp_path / "a", tmp_path / "missing.sqlite"]) == 2
    got = dst.cached_vectors(["k1", "k2", "k3"], 4)
    assert set(got) == {"k1", "k2"}
    assert got["k1"].tolist() == [7, 7, 7, 7]  # what was here is kept
    assert got["k2"].tolist() == [0, 0, 0, 0]
    dst.close()
