"""Chatwoot's application API, as the bot uses it: post a message (or a private note), toggle status."""
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
        try:
            resp = self._client.post(path, json=body)
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

    def post_message(self, account_id: int, conversation_id: int, content: str, private: bool = False) -> dict:
        return self._post(f"/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages",
                          {"content": content, "message_type": "outgoing", "private": private})

    def toggle_status(self, account_id: int, conversation_id: int, status: str) -> dict:
        return self._post(f"/api/v1/accounts/{account_id}/conversations/{conversation_id}/toggle_status",
                          {"status": status})
