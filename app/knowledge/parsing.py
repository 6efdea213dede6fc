"""Turn an uploaded file into plain text with well-kept parsers (pypdf, python-docx, BeautifulSoup)."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

SUPPORTED_EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


class UnsupportedDocumentType(ValueError):
    """The file's type is not one we read (415)."""


class UnreadableDocument(ValueError):
    """The file claims a type we read but its bytes cannot be parsed (422)."""


def _decode_text(data: bytes) -> str:
    if b"\x00" in data:
        raise UnreadableDocument("the file contains binary data, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableDocument("the text is neither UTF-8 nor Windows-1252")


# The parsers are imported when a document of their format arrives: most processes never parse a PDF.
def _html_text(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode_text(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    return soup.get_text("\n")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    if not data.startswith(b"%PDF"):
        raise UnreadableDocument("the file is not a PDF")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("the PDF is password-protected")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except UnreadableDocument:
        raise
    except Exception as exc:  # pypdf raises many types on malformed files; all mean the same to the caller
        raise UnreadableDocument(f"the PDF cannot be read ({type(exc).__name__})") from None


def _docx_text(data: bytes) -> str:
    import docx

    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnreadableDocument("the file is not a .docx document")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx/lxml raise several types for a broken package
        raise UnreadableDocument(f"the .docx cannot be read ({type(exc).__name__})") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def normalize_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n\s*\n\s*\n+", "\n\n", text)
    return text.strip()


def extract_text(filename: str, data: bytes) -> str:
    """Plain, normalized text of an uploaded file. Raises UnsupportedDocumentType / UnreadableDocument."""
    ext = PurePath(filename or "").suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise UnsupportedDocumentType(
            f"unsupported file type {ext or '(none)'}; send one of {', '.join(SUPPORTED_EXTENSIONS)}")
    if ext in (".txt", ".md", ".markdown"):
        text = _decode_text(data)
    elif ext in (".html", ".htm"):
        text = _html_text(data)
    elif ext == ".pdf":
        text = _pdf_text(data)
    else:
        text = _docx_text(data)
    return normalize_text(text)
