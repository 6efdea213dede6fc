"""Placeholders instead of personal data for an external LLM.

When a tenant sets `privacy.anonymize_llm` (or the user revoked `data_processing`), the customer's
words reach the model as "<PERSON_1> quiere una cita, su cel es <PHONE_NUMBER_1>", and the model's
answer gets the values back before the customer sees it. The mapping is the conversation's own
(app/privacy/placeholder_store.py), so a placeholder keeps its meaning across turns. The tenant's
knowledge passages are the business's own text and go unchanged. The search query is anonymized too
when it goes to an external embeddings endpoint (app/conversations/chat.py).
"""
from __future__ import annotations

import dataclasses

from app.privacy.pii import Placeholders, anonymize
from app.privacy.placeholder_syntax import LOOSE_PLACEHOLDER
from graphs.llm import Answer, AnswerRequest, RetrievalOnlyProvider

HISTORY_TURNS = 6          # what OpenAIChatProvider sends of the history


class AnonymizingProvider:
    def __init__(self, inner, placeholders: Placeholders):
        self.inner = inner
        self.placeholders = placeholders
        self.name = inner.name

    def answer(self, req: AnswerRequest) -> Answer:
        lang = req.language
        history = [{**t, "content": anonymize(t.get("content", ""), lang, self.placeholders)}
                   for t in list(req.history)[-HISTORY_TURNS:]]
        masked = dataclasses.replace(req, question=anonymize(req.question, lang, self.placeholders), history=history)
        out = self.inner.answer(masked)
        text = self.placeholders.restore(out.text)
        if LOOSE_PLACEHOLDER.search(text):
            # A placeholder this conversation never had ("Hola, soy <PERSON_2>": a small model copying the
            # pattern): no value can stand in for it, so the customer gets the retrieval-only answer.
            fallback = getattr(self.inner, "fallback", None) or RetrievalOnlyProvider()
            return dataclasses.replace(fallback.answer(req), fallback_reason="unknown_placeholder",
                                       tokens=out.tokens)
        return dataclasses.replace(out, text=text)


class AnonymizingRouter:
    """The optional LLM route refinement sees the message with placeholders too."""

    def __init__(self, inner, placeholders: Placeholders, language: str):
        self.inner = inner
        self.placeholders = placeholders
        self.language = language

    def __call__(self, message: str, history):
        return self.inner(anonymize(message, self.language, self.placeholders), [])
