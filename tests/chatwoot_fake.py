"""A local HTTP server standing in for Chatwoot's API, and builders of realistic webhook payloads."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid

from tests.http_doubles import JsonHandler, serve


class FakeChatwoot:
    def __init__(self):
        self.posts: list[dict] = []
        self.fail_next = 0            # answer 500 to this many posts
        self.next_conversation = 900  # ids of conversations created through the API
        self.delay_s = 0.0            # answer each post this late (it is recorded on arrival)
        self.in_flight = self.max_in_flight = 0     # posts being answered at once (a slow Chatwoot)
        self._lock = threading.Lock()
        outer = self

        class Handler(JsonHandler):
            def do_GET(self):
                parts = self.path.strip("/").split("/")
                if parts[4:5] == ["conversations"] and parts[6:] == ["messages"]:   # messages#index
                    return self._send(200, {"meta": {}, "payload": [
                        {"id": i + 1, "content": p["body"].get("content"), "private": p["body"].get("private", False),
                         "message_type": {"incoming": 0, "outgoing": 1}.get(p["body"].get("message_type"), 1),
                         "created_at": int(p["at"])}
                        for i, p in enumerate(outer.posts) if p["path"] == self.path]})
                # attachments are served from Chatwoot's own host
                raw = b"OggS fake voice note"
                self.send_response(200)
                self.send_header("Content-Type", "audio/ogg")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):
                body = self.read_json()
                if outer.fail_next:
                    outer.fail_next -= 1
                    return self._send(500, {"error": "boom"})
                outer.posts.append({"path": self.path, "body": body, "token": self.headers.get("api_access_token"),
                                    "at": time.time()})
                if outer.delay_s:                                 # a slow Chatwoot: the post is in flight
                    with outer._lock:
                        outer.in_flight += 1
                        outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                    time.sleep(outer.delay_s)
                    with outer._lock:
                        outer.in_flight -= 1
                parts = self.path.strip("/").split("/")          # api v1 accounts {a} …
                if parts[4:] == ["contacts"]:                     # Chatwoot's contacts#create answer
                    contact_id = 500 + len(outer.posts)
                    return self._send(200, {"payload": {
                        "contact": {"id": contact_id, "name": body.get("name"), "identifier": body.get("identifier")},
                        "contact_inbox": {"source_id": str(uuid.uuid4()), "inbox": {"id": body.get("inbox_id")}}}})
                if parts[4:] == ["conversations"]:                # conversations#create: a new display id
                    outer.next_conversation += 1
                    return self._send(200, {"id": outer.next_conversation, "inbox_id": body.get("inbox_id"),
                                            "status": body.get("status", "open"), "messages": []})
                self._send(200, {"id": len(outer.posts), **body})

        self.httpd, self.url = serve(Handler)

    def messages(self, account, conv, private=None):
        path = f"/api/v1/accounts/{account}/conversations/{conv}/messages"
        return [p["body"] for p in self.posts if p["path"] == path and (private is None or p["body"]["private"] == private)]

    def created(self, account, what):
        """Bodies of contacts or conversations created in that account."""
        return [p["body"] for p in self.posts if p["path"] == f"/api/v1/accounts/{account}/{what}"]

    def toggles(self, account, conv):
        return [p["body"]["status"] for p in self.posts
                if p["path"] == f"/api/v1/accounts/{account}/conversations/{conv}/toggle_status"]

    def close(self):
        self.httpd.shutdown()


def message_event(msg_id, *, account=101, conv=5, content="hola", message_type="incoming", sender="contact",
                  private=False, status="pending", channel="Channel::Whatsapp", with_account=True, attrs=None,
                  attachments=None, content_type="text"):
    senders = {"contact": {"id": 9, "name": "Ana Cliente", "email": None},
               "user": {"id": 2, "name": "Agente", "type": "user"},
               "agent_bot": {"id": 3, "name": "Bot", "type": "agent_bot"},
               "captain": {"id": 4, "name": "Captain", "type": "captain_assistant"}, None: None}
    int_type = {"incoming": 0, "outgoing": 1, "template": 3}[message_type]
    payload = {"event": "message_created", "id": msg_id, "content": content, "message_type": message_type,
               "content_type": content_type, "content_attributes": attrs or {}, "private": private,
               "sender": senders[sender], "attachments": attachments or [],
               "conversation": {"id": conv, "display_id": conv, "account_id": account, "status": status,
                                "channel": channel, "messages": [{"id": msg_id, "message_type": int_type}]},
               "inbox": {"id": 1, "name": "WhatsApp"}}
    if with_account:
        payload["account"] = {"id": account, "name": "Cuenta"}
    return payload


def conversation_event(status, *, account=101, conv=5, assignee_type=None, event="conversation_updated"):
    meta = {"assignee": {"id": 2, "name": "Agente", "type": assignee_type}} if assignee_type else {}
    return {"event": event, "id": conv, "display_id": conv, "account_id": account, "status": status,
            "channel": "Channel::Whatsapp", "messages": [], "meta": meta, "account": {"id": account}}


def signed(secret: str, payload, ts: int | None = None, delivery: str | None = None):
    raw = json.dumps(payload).encode()
    ts = str(ts if ts is not None else int(time.time()))
    sig = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Chatwoot-Signature": sig, "X-Chatwoot-Timestamp": ts,
                 "X-Chatwoot-Delivery": delivery or str(uuid.uuid4())}
