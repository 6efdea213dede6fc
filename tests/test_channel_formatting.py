from app.channels.formatting import format_for_channel

ANSWER = ("## Toxina botulínica\n\n**Precio:** $850.000 COP por tres zonas.\n\n"
          "| Zona | Precio |\n|---|---|\n| Frente | $450.000 |\n\nMás info en [nuestra web](https://benova.example).")


def test_whatsapp_has_no_headers_or_tables_and_uses_single_asterisks():
    out = format_for_channel(ANSWER, "whatsapp")
    assert "#" not in out and "|---" not in out and "**" not in out
    assert "*Toxina botulínica*" in out and "*Precio:*" in out
    assert "Frente · $450.000" in out and "https://benova.example" in out


def test_whatsapp_and_instagram_limits():
    long = "Información del tratamiento. " * 400
    assert len(format_for_channel(long, "whatsapp")) <= 4096
    ig = format_for_channel(long, "instagram")
    assert len(ig) <= 1000 and ig.endswith("…")
    assert "*" not in format_for_channel(ANSWER, "instagram")


def test_email_has_greeting_and_signature():
    out = format_for_channel(ANSWER, "email", language="es", company_name="Benova", agent_name="María")
    assert out.startswith("Hola,") and out.rstrip().endswith("María\nBenova")
    en = format_for_channel("Our hours are 8 to 6.", "email", language="en", company_name="Acme")
    assert en.startswith("Hello,") and "Kind regards," in en


def test_web_keeps_markdown():
    assert format_for_channel(ANSWER, "web") == ANSWER.strip()
