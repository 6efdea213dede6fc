"""Which language to answer in: the user's when clearly English or Spanish, otherwise the tenant's."""
from __future__ import annotations

import re

from graphs.tenant.emergency import normalize

_EN = set("the is are what how much do does can i my you your please hi hello thanks when where which "
          "have has would could it is there any appointment price cost".split())
_ES = set("el la los las que como cuanto cuanta de del por para mi tu usted hola gracias cuando donde "
          "tienen tiene hay puedo quiero es son una un me te precio cita vale sale".split())


def detect_language(text: str, default: str) -> str:
    words = re.findall(r"[a-z']+", normalize(text))
    en = sum(w in _EN for w in words)
    es = sum(w in _ES for w in words)
    if en > es and en >= 1:
        return "en"
    if es > en:
        return "es"
    return default
