"""The tenant's own scheduling service, spoken to over HTTP (a local server speaking our protocol)."""
from urllib.parse import parse_qs, urlsplit

import pytest

from app.factory import create_app
from tests.conftest import ADMIN_TOKEN
from tests.http_doubles import JsonHandler, serve


class ScheduleServer:
    def __init__(self):
        self.calls, self.fail = [], False
        outer = self

        class Handler(JsonHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                outer.calls.append(("GET", url.path, parse_qs(url.query)))
                if outer.fail:
                    return self._send(500, {"error": "down"})
                self._send(200, {"slots": ["2026-12-04T10:00", "2026-12-04T16:00"]})

            def do_POST(self):
                body = self.read_json()
                outer.calls.append(("POST", self.path, body))
                if outer.fail:
                    return self._send(500, {"error": "down"})
                self._send(201, {"booking_id": "ext-1", "status": "confirmed", "start": "2026-12-04T16:00"})

        self.httpd, self.url = serve(Handler)


@pytest.fixture
def sched():
    s = ScheduleServer()
    yield s
    s.httpd.shutdown()


@pytest.fixture
def client_key(sched, make_settings, redis_client, config_file):
    config_file.write_text(config_file.read_text().replace(
        "    chatwoot: {account_id: 101}", f"    chatwoot: {{account_id: 101}}\n    schedule_service_url: {sched.url}"))
    app = create_app(make_settings())
    c = app.test_client()
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).get_json()["api_key"]
    yield c, key
    app.extensions["misybot"].vectors.close()


def say(c, key, text, user="s1"):
    return c.post(f"/conversations/{user}/test", json={"message": text}, headers={"X-API-Key": key}).get_json()


def test_availability_comes_from_the_service(client_key, sched):
    c, key = client_key
    out = say(c, key, "tienen hora disponible para limpieza facial el jueves?")
    assert out["agent"] == "availability" and "2026-12-04T16:00" in out["bot_response"]
    method, path, query = sched.calls[0]
    assert (method, path) == ("GET", "/availability") and query["service"] == ["limpieza facial"]


def test_booking_goes_to_the_service_and_repeats_its_answer(client_key, sched):
    c, key = client_key
    say(c, key, "quiero agendar una limpieza facial")
    say(c, key, "el viernes a las 4")
    out = say(c, key, "me llamo Laura Gómez")
    assert out["booking"]["status"] == "confirmed" and out["booking"]["booking_id"] == "ext-1"
    assert "confirmada" in out["bot_response"]
    post = [call for call in sched.calls if call[0] == "POST"][0]
    assert post[2] == {"service": "limpieza facial", "when": "viernes a las 4", "name": "Laura Gómez", "user_id": "s1"}
    assert c.get("/bookings?status=pending", headers={"X-API-Key": key}).get_json()["total"] == 0


def test_service_down_keeps_the_request_as_pending(client_key, sched):
    c, key = client_key
    sched.fail = True
    out = say(c, key, "tienen hora disponible el jueves?", user="s2")
    assert "no puedo prometerte un horario" in out["bot_response"]
    say(c, key, "quiero agendar una limpieza facial", user="s3")
    say(c, key, "mañana a las 10", user="s3")
    out = say(c, key, "soy Pedro Ruiz", user="s3")
    assert out["booking"]["status"] == "pending" and "no es una cita confirmada" in out["bot_response"].lower()
    assert c.get("/bookings?status=pending", headers={"X-API-Key": key}).get_json()["total"] == 1
