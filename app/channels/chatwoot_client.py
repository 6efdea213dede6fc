"""Chatwoot's application API, as the bot uses it: post a message (or a private note), list a conversation's
latest messages, toggle status; and
for website-widget handoffs, create the visitor's contact and conversation in an API-channel inbox."""
from __future__ import annotations

import httpx


class ChatwootError(RuntimeError):
    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class ChatwootClient:
    def __init__(self, base_url: str, api_token: str, timeout_s: float = 10.0):
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s,
                                    headers={"api_access_token": api_token})

    def _post(self, path: str, body: dict) -> dict:
        return self._call("POST", path, body)

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            resp = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ChatwootError(f"Chatwoot unreachable: {type(exc).__name__}") from exc
        if resp.status_code >= 400:
            # 429 and 5xx are worth retrying; other 4xx will not get better.
            raise ChatwootError(f"Chatwoot answered {resp.status_code}",
                                retryable=resp.status_code == 429 or resp.status_code >= 500)
        try:
            return resp.json()
        except ValueError:
            return {}

    def post_message(self, account_id: int, conversation_id: int, content: str, private: bool = False,
                     message_type: str = "outgoing") -> dict:
        """message_type "incoming" (an API-channel inbox only) posts as the contact: the widget visitor."""
        return self._post(f"/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages",
                          {"content": content, "message_type": message_type, "private": private})

    def recent_messages(self, account_id: int, conversation_id: int) -> list[dict]:
        """The conversation's latest messages (Chatwoot answers the last page, about 20), oldest first."""
        out = self._call("GET", f"/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages")
        payload = out.get("payload") if isinstance(out, dict) else None
        return [m for m in payload if isinstance(m, dict)] if isinstance(payload, list) else []

    def create_contact(self, account_id: int, inbox_id: int, *, name: str, identifier: str,
                       email: str | None = None, phone: str | None = None) -> tuple[int, str]:
        """(contact id, source id of its contact inbox) for a new contact in that inbox."""
        body = {"inbox_id": inbox_id, "name": name, "identifier": identifier,
                **({"email": email} if email else {}), **({"phone_number": phone} if phone else {})}
        payload = self._post(f"/api/v1/accounts/{account_id}/contacts", body).get("payload") or {}
        contact, inbox = payload.get("contact") or {}, payload.get("contact_inbox") or {}
        if not isinstance(contact.get("id"), int) or not inbox.get("source_id"):
            raise ChatwootError("Chatwoot's contact answer has no contact id or source id", retryable=False)
        return contact["id"], str(inbox["source_id"])

    def create_conversation(self, account_id: int, inbox_id: int, contact_id: int, source_id: str) -> int:
        out = self._post(f"/api/v1/accounts/{account_id}/conversations",
                         {"source_id": source_id, "inbox_id": inbox_id, "contact_id": contact_id, "status": "open"})
        if not isinstance(out.get("id"), int):
            raise ChatwootError("Chatwoot's conversation answer has no id", retryable=False)
        return out["id"]

    def toggle_status(self, account_id: int, conversation_id: int, status: str) -> dict:
        return self._post(f"/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status",
                          {"status": status})
