"""Locust scenario for bench/load/run_load.py: many tenants' customers at once against one service process.

    LOAD_TENANTS=tenants.json LOAD_SENT_LOG=sent.log locust -f bench/load/locustfile.py --headless ...

run_load.py writes LOAD_TENANTS (per tenant: company_id, api_key, chatwoot account_id and webhook_secret);
each virtual user picks a tenant (round robin, so all 50 get traffic) and speaks with that tenant's
credential only. Four kinds of user, weighted roughly like a day of real traffic:

- ChattingCustomer: chat turns on POST /conversations/<user>/test. One user id at a time and one turn at a
  time, so a conversation's turns are sequential like a person typing; after a few turns it becomes a new
  customer (a new user id), so the number of conversations grows during the run as it would in production.
- KnowledgeSearcher: POST /documents/search.
- DocumentUploader: now and then a small POST /documents, deleting its oldest upload past three, so each
  tenant's document count stays bounded however long the run.
- ChatwootContact: a WhatsApp contact on Chatwoot; signed message_created webhooks on POST /webhook/chatwoot.
  Every accepted ("queued") message is appended to LOAD_SENT_LOG as "account conversation message_id", so
  run_load.py can check that each one got exactly one reply from the worker.

A response counts as a failure unless it has the status and body the API promises for that call.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import sys
import uuid
from pathlib import Path

from locust import FastHttpUser, between, events, task

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.chatwoot_fake import message_event, signed  # noqa: E402

TENANTS: list[dict] = json.loads(Path(os.environ["LOAD_TENANTS"]).read_text()) if os.environ.get("LOAD_TENANTS") else []
_next_tenant = itertools.count()
_next_conversation = itertools.count(1)
_next_message = itertools.count(1_000_000)
_sent_log = None

# What customers of an aesthetic clinic ask (answers come from the seeded documents); no emergency words,
# so no conversation is handed to a human and every turn is the bot's.
QUESTIONS = [
    "¿Cuánto cuesta el bótox?", "¿Qué precio tiene la limpieza facial profunda?", "¿A qué hora abren los sábados?",
    "¿Dónde quedan ubicados?", "¿Tienen parqueadero?", "¿Cuánto vale la valoración médica?",
    "¿Cuánto dura una sesión de peeling químico?", "¿Qué incluye el relleno de labios?",
    "¿Abren los domingos?", "¿Hasta qué hora atienden entre semana?", "¿Cuánto cuestan los hilos tensores?",
    "¿El plasma rico en plaquetas cuánto vale?", "¿Hay paquete de limpiezas faciales?",
    "Hola, quisiera información sobre la toxina botulínica", "¿Qué tan cerca están de la estación del metro?",
    "¿Cuál es el precio de los rellenos en ojeras?", "¿La valoración se descuenta del procedimiento?",
    "Buenas tardes, ¿cuánto cuesta el peeling?", "¿Qué servicios ofrecen?", "¿Tienen depilación láser?",
    "¿Puedo pagar con tarjeta?", "¿Cuánto vale el parqueadero?", "Gracias por la información",
    "¿Qué días atienden?",
]
QUERIES = [
    "precio toxina botulínica", "horario de atención sábados", "parqueadero visitantes", "limpieza facial paquete",
    "rellenos ácido hialurónico labios", "dirección El Poblado", "valoración médica descuento", "hilos tensores",
    "peeling químico sesión", "plasma rico en plaquetas precio", "estación metro Poblado", "domingos festivos",
]
TOPICS = ["horario de diciembre", "promoción de temporada", "nuevo equipo láser", "política de reprogramación",
          "convenio con empresas", "tarjeta de regalo", "jornada de valoración gratuita", "cambio de consultorio"]


def _tenant() -> dict:
    return TENANTS[next(_next_tenant) % len(TENANTS)]


def _check(resp, status: tuple[int, ...], key: str) -> dict | None:
    """Mark the response a success only with an expected status and a JSON body holding `key`. A request
    that got no response at all (refused, reset, or past network_timeout) has status 0 and no text: it must
    be a failure too, not an exception that leaves it out of the stats."""
    if resp.status_code == 0 or resp.text is None:
        resp.failure(f"no response: {resp.error!r}")
        return None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code in status and isinstance(body, dict) and key in body:
        resp.success()
        return body
    resp.failure(f"{resp.status_code}: {resp.text[:200]}")
    return None


@events.test_start.add_listener
def _open_sent_log(environment, **kw):
    global _sent_log
    if os.environ.get("LOAD_SENT_LOG"):
        _sent_log = open(os.environ["LOAD_SENT_LOG"], "a", buffering=1)


@events.quitting.add_listener
def _close_sent_log(environment, **kw):
    if _sent_log is not None:
        _sent_log.close()


class TenantUser(FastHttpUser):
    abstract = True
    connection_timeout = 10.0
    network_timeout = 120.0      # a slow answer is reported as a latency; only a 2-minute hang is a failure

    def on_start(self):
        self.tenant = _tenant()
        self.headers = {"X-API-Key": self.tenant["api_key"]}


class ChattingCustomer(TenantUser):
    weight = 12
    wait_time = between(2, 8)       # reading the answer and typing the next question

    def on_start(self):
        super().on_start()
        self._new_customer()

    def _new_customer(self):
        self.user_id = f"load-{uuid.uuid4().hex[:12]}"
        self.turns_left = random.randint(4, 12)

    @task
    def chat_turn(self):
        if self.turns_left == 0:
            self._new_customer()
        self.turns_left -= 1
        body = {"message": random.choice(QUESTIONS), "channel": random.choice(["web", "whatsapp", "instagram"])}
        with self.client.post(f"/conversations/{self.user_id}/test", json=body, headers=self.headers,
                              name="POST /conversations/[user]/test", catch_response=True) as r:
            _check(r, (200,), "bot_response")


class KnowledgeSearcher(TenantUser):
    weight = 4
    wait_time = between(1, 5)

    @task
    def search(self):
        body = {"query": random.choice(QUERIES), "k": random.choice([3, 5, 8])}
        with self.client.post("/documents/search", json=body, headers=self.headers,
                              name="POST /documents/search", catch_response=True) as r:
            _check(r, (200,), "results")


class DocumentUploader(TenantUser):
    weight = 1
    wait_time = between(8, 20)
    keep = 3

    def on_start(self):
        super().on_start()
        self.uploaded: list[str] = []

    @task
    def upload(self):
        topic = random.choice(TOPICS)
        content = (f"# {topic.capitalize()}\n\nAviso {uuid.uuid4().hex[:8]} sobre {topic}: aplica del "
                   f"{random.randint(1, 28)} al {random.randint(1, 28)} del mes. Pregunta en recepción o "
                   f"escríbenos por WhatsApp para más detalles. " * random.randint(1, 4))
        with self.client.post("/documents", json={"title": topic, "content": content}, headers=self.headers,
                              name="POST /documents", catch_response=True) as r:
            body = _check(r, (201,), "document_id")
        if body:
            self.uploaded.append(body["document_id"])
        while len(self.uploaded) > self.keep:
            doc = self.uploaded.pop(0)
            with self.client.delete(f"/documents/{doc}", headers=self.headers, name="DELETE /documents/[id]",
                                    catch_response=True) as r:
                _check(r, (200,), "deleted")


class ChatwootContact(TenantUser):
    """A customer writing on WhatsApp; Chatwoot forwards each message to us as a signed webhook."""
    weight = 3
    wait_time = between(3, 10)

    def on_start(self):
        super().on_start()
        self._new_conversation()

    def _new_conversation(self):
        self.conversation = next(_next_conversation)
        self.messages_left = random.randint(3, 8)

    @task
    def message(self):
        if self.messages_left == 0:
            self._new_conversation()
        self.messages_left -= 1
        account, msg_id = self.tenant["account_id"], next(_next_message)
        payload = message_event(msg_id, account=account, conv=self.conversation, content=random.choice(QUESTIONS))
        raw, headers = signed(self.tenant["webhook_secret"], payload)
        with self.client.post("/webhook/chatwoot", data=raw, headers=headers, name="POST /webhook/chatwoot",
                              catch_response=True) as r:
            body = _check(r, (200,), "status")
            if body is not None and body["status"] != "queued":
                r.failure(f"not queued: {body}")
                body = None
        if body is not None and _sent_log is not None:
            _sent_log.write(f"{account} {self.conversation} {msg_id}\n")
