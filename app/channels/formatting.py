"""Shape an answer for the channel it goes to: markdown for web, WhatsApp's own markup, short for
Instagram, a letter for email."""
from __future__ import annotations

import re

CHANNELS = ("web", "whatsapp", "instagram", "messenger", "email", "api")
LIMITS = {"whatsapp": 4096, "instagram": 1000, "messenger": 2000}

_HEADER = re.compile(r"^\s{0,3}#{1,6}\s*(.+?)\s*#*\s*$", re.MULTILINE)
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)]+)\)")


def _plain_markup(text: str, bold: str) -> str:
    """Markdown to chat-app text: headers become bold lines, tables become lines, links show their URL."""
    text = _HEADER.sub(lambda m: f"{bold}{m.group(1)}{bold}" if bold else m.group(1), text)
    text = _BOLD.sub(lambda m: f"{bold}{m.group(1) or m.group(2)}{bold}", text)
    text = _TABLE_RULE.sub("", text)
    text = re.sub(r"^\s*\|(.+)\|\s*$", lambda m: " · ".join(c.strip() for c in m.group(1).split("|")),
                  text, flags=re.MULTILINE)
    text = _LINK.sub(r"\1: \2", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # End on a sentence or line boundary when one is reasonably close.
    boundary = max(cut.rfind("\n"), cut.rfind(". "))
    if boundary > limit * 0.6:
        cut = cut[: boundary + 1]
    return cut.rstrip() + "…"


def format_for_channel(text: str, channel: str, *, language: str = "es", company_name: str = "",
                       agent_name: str = "") -> str:
    if channel == "whatsapp":
        return _truncate(_plain_markup(text, "*"), LIMITS["whatsapp"])
    if channel in ("instagram", "messenger"):
        return _truncate(_plain_markup(text, ""), LIMITS[channel])
    if channel == "email":
        body = _plain_markup(text, "")
        greeting, closing = ("Hola,", "Un saludo cordial,") if language == "es" else ("Hello,", "Kind regards,")
        signature = "\n".join(s for s in (agent_name, company_name) if s)
        return f"{greeting}\n\n{body}\n\n{closing}\n{signature}".strip()
    return text.strip()          # web and api: markdown as written
