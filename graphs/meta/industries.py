"""Industry categories: tenants describe their industry in their own words ("medicina estética
avanzada"); learnings are grouped, and insights shared, by a small fixed set of categories."""
from __future__ import annotations

from app.knowledge.lexical import fold

CATEGORIES: dict[str, tuple[tuple[str, ...], str, str]] = {
    # category: (words that put a tenant in it, Spanish label, English label)
    "dental": (("dental", "odontolog", "ortodonc", "dentist"), "clínicas dentales", "dental clinics"),
    "aesthetic": (("estetic", "aesthetic", "dermatolog", "cosmetic", "medispa", "belleza", "beauty"),
                  "clínicas de medicina estética", "aesthetic clinics"),
    "spa": (("spa", "wellness", "bienestar", "masaje", "massage"), "spas y centros de bienestar",
            "spas and wellness centres"),
    "retail": (("tienda", "shop", "store", "retail", "comercio", "ecommerce"), "tiendas", "shops"),
}
OTHER = "other"


def industry_category(industry: str) -> str:
    text = fold(industry or "")
    for category, (words, _, _) in CATEGORIES.items():
        if any(w in text for w in words):
            return category
    return OTHER


def label(category: str, language: str) -> str:
    if category not in CATEGORIES:
        return "otros negocios" if language == "es" else "other businesses"
    _, spanish, english = CATEGORIES[category]
    return spanish if language == "es" else english
