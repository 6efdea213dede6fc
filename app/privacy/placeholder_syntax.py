"""The placeholder syntax that stands for a personal value in anonymized text (`<PERSON_1>`).

A leaf module: graphs and the meta-agent read it without loading Presidio or spaCy.
"""
from __future__ import annotations

import re

ENTITY_TYPES = ("PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "URL", "IP_ADDRESS",
                "LOCATION", "DATE_OF_BIRTH", "CO_CEDULA", "CL_RUT", "MX_CURP", "MX_RFC", "AR_DNI", "AR_CUIT",
                "ES_NIF", "ES_NIE")

PLACEHOLDER = re.compile(r"<(" + "|".join(sorted(ENTITY_TYPES, key=len, reverse=True)) + r")_(\d+)>")
# What an LLM may make of a placeholder: "<PERSON_1>", "PERSON_1", "< PERSON_1 >", "[PERSON_1]".
LOOSE_PLACEHOLDER = re.compile(r"(?:<\s*|\[\s*)?\b(" + "|".join(sorted(ENTITY_TYPES, key=len, reverse=True))
                                + r")_(\d+)\b(?:\s*>|\s*\])?")
