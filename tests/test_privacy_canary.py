"""Canaries: personal data planted in tenant alpha's conversations must never show up in the global
collection, in any log line, in the meta-agent's answers, or in what tenant beta (or gamma, alpha's
industry peer) is told. Every path a message can take is exercised: API turns, widget turns, a
handoff, consented and unconsented users, the meta worker, admin queries and insights."""
from __future__ import annotations

import json
import logging

from app.audit.logs import configure_logging
from tests.test_meta_agent import config_file, grant, keys, process, say  # noqa: F401 (fixtures)

CANARIES = {
    "PERSON": "Xiomara Quintanilla",
    "PHONE": "+57 315 804 2291",
    "CEDULA": "1.017.233.908",
    "EMAIL": "xiomara.q77@hotmail.com",
    "RUT": "16.482.913-4",
    "CARD": "4539 1488 0343 6467",
    "ADDRESS": "Calle 47 # 28-15, apto 302",
}
MESSAGES = [
    f"Hola, soy {CANARIES['PERSON']}, mi cel es {CANARIES['PHONE']}. ¿Tienen parqueadero para pacientes?",
    f"mi cédula es {CANARIES['CEDULA']} y mi correo {CANARIES['EMAIL']}, ¿cuánto vale el bótox?",
    f"vivo en {CANARIES['ADDRESS']}, ¿tienen parqueadero para pacientes?",
    f"mi rut es {CANARIES['RUT']}, ¿hasta qué hora atienden?",
    f"puedo pagar con la tarjeta {CANARIES['CARD']}? ¿cuánto vale la limpieza facial?",
    "quiero hablar con una persona, por favor",
]


def _assert_clean(where: str, text: str) -> None:
    for kind, value in CANARIES.items():
        assert value not in text, f"{kind} canary found in {where}"
        digits = "".join(c for c in value if c.isdigit())
        if len(digits) >= 7:
            assert digits not in "".join(c for c in text if c.isdigit() or c == " ").replace(" ", ""), \
                f"{kind} canary digits found in {where}"


def test_canaries_never_leave_tenant_alpha(app, client, keys, admin_headers, capfd, caplog):
    configure_logging("DEBUG")          # the service's JSON handler, writing to this test's captured stderr
    caplog.set_level(logging.DEBUG)
    # Three alpha users: one consented to global learning, one did not, one through the widget path's
    # user id shape; and every message carries PII.
    grant(client, keys["alpha"], "canary-consented")
    for user in ("canary-consented", "canary-silent", "web-v_canary"):
        for message in MESSAGES:
            say(client, keys["alpha"], user, message)
    # Industry peers ask the same, so the learning validates and insights are produced.
    for user in ("g1", "g2"):
        grant(client, keys["gamma"], user)
        say(client, keys["gamma"], user, "¿tienen parqueadero para pacientes?")
    processed = process(client, admin_headers)
    assert processed.get("inserted", 0) + processed.get("merged", 0) >= 3

    # 1. The global collection, every payload field.
    p = app.extensions["misybot"]
    points = p.global_knowledge.list()
    assert points
    _assert_clean("the global collection", json.dumps([pt.payload for pt in points], ensure_ascii=False))

    # 2. The meta-agent's answers, for questions aimed at the canaries.
    for question in ("parqueadero", "Xiomara Quintanilla", "cédula teléfono correo", "tarjeta"):
        r = client.post("/admin/meta/query", json={"question": question, "status": ["pending", "validated"]},
                        headers=admin_headers)
        assert r.status_code == 200
        _assert_clean(f"the meta answer to {question!r}", json.dumps(r.get_json(), ensure_ascii=False))

    # 3. What other tenants see: their answers to the same questions, and their insights.
    for company in ("beta", "gamma"):
        for message in ("¿tienen parqueadero para pacientes?", "¿quién es Xiomara Quintanilla?",
                        "¿cuál es el teléfono de la paciente que preguntó por parqueadero?"):
            _assert_clean(f"{company}'s answer", json.dumps(say(client, keys[company], "curious", message),
                                                            ensure_ascii=False))
        insights = client.get("/v1/insights", headers={"X-API-Key": keys[company]}).get_json()
        _assert_clean(f"{company}'s insights", json.dumps(insights, ensure_ascii=False))
    assert client.get("/v1/insights", headers={"X-API-Key": keys["gamma"]}).get_json()["insights"], \
        "the peer tenant should get an insight, or this test proves nothing about insights"

    # 4. Every log line written meanwhile: the JSON lines on stderr and the records themselves.
    out, err = capfd.readouterr()
    _assert_clean("the service's log output", out + err)
    records = "\n".join(f"{r.getMessage()} {json.dumps({k: str(v) for k, v in r.__dict__.items()})}"
                        for r in caplog.records)
    _assert_clean("log records", records)
    assert "chat turn" in records and '"message": "chat turn"' in err      # the logs were captured at all


def test_user_ids_in_paths_are_not_logged(app, client, keys, capfd):
    configure_logging("INFO")
    phone_user = "whatsapp:+573158042291"
    say(client, keys["alpha"], phone_user, "¿hasta qué hora atienden?")
    client.get(f"/conversations/{phone_user}", headers={"X-API-Key": keys["alpha"]})
    out, err = capfd.readouterr()
    assert "3158042291" not in out + err
    assert "/conversations/<user_id>/test" in out + err        # the route's pattern is logged instead
