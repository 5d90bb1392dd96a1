"""Measures, performance benches and ingest probes, run from the repository root as ``python -m bench.<name>``
(bench/README.md lists them by kind); :mod:`bench.common` is what they share."""
