"""What a tenant may learn from the others: industry-level topics, never another tenant's text.

From validated learnings of the tenant's industry category, an insight names only the topic *words*
that at least two different tenants' customers used (so no tenant's own wording, product or name
can surface), with how often they were asked and how often no knowledge base had the answer.
"""
from __future__ import annotations

from graphs.meta.industries import industry_category, label
from graphs.meta.learning import LearningStore

MIN_SOURCES = 2
UNANSWERED_HINT = 0.4


def tenant_insights(knowledge: LearningStore, industry: str, language: str, limit: int = 10) -> dict:
    category = industry_category(industry)
    insights = []
    for item in knowledge.list(industry=category, statuses=["validated"]):
        p = item.payload
        if len(p.get("sources", [])) < MIN_SOURCES:
            continue
        words = sorted(w for w, sources in p.get("terms", {}).items() if len(set(sources)) >= MIN_SOURCES)
        if not words:
            continue
        unanswered = p["unanswered"] / p["count"] if p["count"] else 0.0
        insights.append({"topics": words, "count": p["count"], "businesses": len(p["sources"]),
                         "unanswered_share": round(unanswered, 2)})
    insights.sort(key=lambda i: -i["count"])
    where = label(category, language)
    for i in insights:
        topics = ", ".join(i["topics"])
        if language == "es":
            i["text"] = (f"En {where} los clientes preguntan a menudo por: {topics} "
                         f"({i['count']} consultas en {i['businesses']} negocios).")
            if i["unanswered_share"] >= UNANSWERED_HINT:
                i["text"] += " Muchas veces no tenían respuesta: conviene incluirlo en tus documentos."
        else:
            i["text"] = (f"Customers of {where} often ask about: {topics} "
                         f"({i['count']} questions across {i['businesses']} businesses).")
            if i["unanswered_share"] >= UNANSWERED_HINT:
                i["text"] += " They often went unanswered: consider adding it to your documents."
    return {"industry": category, "insights": insights[:limit]}
