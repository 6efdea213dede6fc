import pytest

from app.knowledge.parsing import UnreadableDocument, UnsupportedDocumentType, extract_text
from tests.docs_factory import docx_bytes, pdf_bytes


def test_plain_text_and_markdown_keep_spanish_characters():
    text = "# Precios\n\nDepilación láser: $350.000 por sesión.\r\n\r\n\r\n\r\nAñadir"
    assert extract_text("precios.md", text.encode()) == "# Precios\n\nDepilación láser: $350.000 por sesión.\n\nAñadir"


def test_windows_1252_text_is_decoded():
    assert extract_text("viejo.txt", "Atención: mañana".encode("cp1252")) == "Atención: mañana"


def test_html_drops_scripts_and_styles():
    html = b"<html><head><style>p{}</style><script>alert('x')</script></head><body><h1>Horario</h1>" \
           b"<p>Lunes a viernes 8:00 a 18:00</p></body></html>"
    text = extract_text("horario.html", html)
    assert "Horario" in text and "Lunes a viernes 8:00 a 18:00" in text
    assert "alert" not in text and "p{}" not in text


def test_pdf_text_layer_is_extracted():
    assert "Botox 850000 COP" in extract_text("lista.pdf", pdf_bytes("Botox 850000 COP"))


def test_docx_paragraphs_and_tables_are_extracted():
    data = docx_bytes(["Política de cancelación: 24 horas de aviso."], [["Servicio", "Precio"], ["Masaje", "$1,350"]])
    text = extract_text("politicas.docx", data)
    assert "24 horas de aviso" in text
    assert "Masaje | $1,350" in text


@pytest.mark.parametrize("name", ["virus.exe", "foto.png", "sin_extension", "hoja.xlsx"])
def test_unsupported_types_are_refused(name):
    with pytest.raises(UnsupportedDocumentType):
        extract_text(name, b"whatever")


@pytest.mark.parametrize("name,data", [
    ("roto.pdf", b"%PDF-1.4 this is not really a pdf"),
    ("falso.pdf", b"plain text pretending"),
    ("roto.docx", b"PK\x03\x04 broken zip"),
    ("binario.txt", b"\x00\x01\x02\xff"),
])
def test_corrupt_files_are_unreadable(name, data):
    with pytest.raises(UnreadableDocument):
        extract_text(name, data)
