"""Scripts that write files the package ships (trained adapters and readers, calibration values), run from
the repository root as ``python -m tools.<name>``; they write through the package and share
:mod:`bench.common` with the benches."""
