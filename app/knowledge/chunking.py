"""Split a document into chunks that fit the embedding model's window (MiniLM truncates at 256 tokens)."""
from __future__ import annotations

import threading

from langchain_text_splitters import RecursiveCharacterTextSplitter, TextSplitter

from app.storage.embeddings import offline_model_path

# Headings first, then paragraphs, lines, sentences: chunks follow the document's own structure.
_SEPARATORS = ["\n# ", "\n## ", "\n### ", "\n#### ", "\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]

_lock = threading.Lock()
_splitters: dict[tuple[int, int], TextSplitter] = {}


def _splitter(chunk_tokens: int, overlap_tokens: int) -> TextSplitter:
    with _lock:
        key = (chunk_tokens, overlap_tokens)
        if key not in _splitters:
            from transformers import AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()   # it warns about whole-document lengths we only count

            tokenizer = AutoTokenizer.from_pretrained(offline_model_path())
            _splitters[key] = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
                tokenizer, chunk_size=chunk_tokens, chunk_overlap=overlap_tokens,
                separators=_SEPARATORS, keep_separator="start", strip_whitespace=True)
        return _splitters[key]


_MIN_CHUNK_CHARS = 80


def split_text(text: str, chunk_tokens: int = 200, overlap_tokens: int = 30) -> list[str]:
    chunks = [c for c in (c.strip() for c in _splitter(chunk_tokens, overlap_tokens).split_text(text)) if c]
    # A lone heading or a one-line fragment says little on its own: glue it to the chunk after it.
    merged: list[str] = []
    carry = ""
    for chunk in chunks:
        chunk = f"{carry}\n\n{chunk}" if carry else chunk
        carry = ""
        if len(chunk) < _MIN_CHUNK_CHARS:
            carry = chunk
        else:
            merged.append(chunk)
    if carry:
        if merged:
            merged[-1] = f"{merged[-1]}\n\n{carry}"
        else:
            merged.append(carry)
    return merged
