import json
def test_explore(live):
    c = live.api()
    o = {"Origin": live.base}
    s = c.post(f"/v1/widget/session?pk={live.pk}", json={}, headers=o).get_json()
    for i, q in enumerate(["¿cuál es la política de cancelación?", "política de cancelación", "¿puedo cancelar mi cita?", "¿qué pasa si cancelo?", "quiero hablar con una persona"]):
        r = c.post(f"/v1/widget/messages?pk={live.pk}", json={"message": q}, headers={**o, "Authorization": "Bearer " + s["token"], "Idempotency-Key": f"scratch-key-{i:04d}"})
        print(q, "->", json.dumps(r.get_json(), ensure_ascii=False, indent=1))
