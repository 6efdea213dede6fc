"""Client for a tenant's own scheduling service (`schedule_service_url`), when it has one.

The protocol we speak (documented in README):
  GET  {url}/availability?service=<name>&when=<free text>  -> {"slots": ["2026-12-04T16:00", ...]}
  POST {url}/bookings {"service", "when", "name", "user_id"} -> {"booking_id", "status": "confirmed"|"pending", "start"?}
"""
from __future__ import annotations

import httpx

from graphs.tenant.state import ScheduleUnavailable


class ScheduleServiceError(ScheduleUnavailable):
    pass


class ScheduleServiceClient:
    def __init__(self, base_url: str, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None):
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport)

    def availability(self, service: str | None, when: str | None) -> list[str]:
        params = {k: v for k, v in {"service": service, "when": when}.items() if v}
        try:
            resp = self._client.get("/availability", params=params)
            resp.raise_for_status()
            slots = resp.json().get("slots", [])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise ScheduleServiceError(f"schedule service failed: {type(exc).__name__}") from exc
        return [str(s) for s in slots][:10]

    def book(self, service: str, when: str, name: str, user_id: str) -> dict:
        try:
            resp = self._client.post("/bookings", json={"service": service, "when": when, "name": name,
                                                        "user_id": user_id})
            resp.raise_for_status()
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ScheduleServiceError(f"schedule service failed: {type(exc).__name__}") from exc
        if not isinstance(body, dict) or "status" not in body:
            raise ScheduleServiceError("schedule service answered without a status")
        return body
