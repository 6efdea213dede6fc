"""One isolation suite for every tenant-scoped store, in the spirit of LangGraph's checkpointer conformance
tests: each store of a TenantContext has an adapter that writes, looks (get, list, search) and erases through
the store's own API, and the same tests run against every adapter. Alpha writes; beta, opened with its own
authenticated principal and holding its own data under the same end-user id, finds none of alpha's data in
any view, in its data-subject export or in its backup; erasing as beta leaves alpha's data whole.

A store added to TenantContext without an adapter here fails test_every_store_of_the_context_has_an_adapter.
Widget visitors are not a store of their own (the visitor id lives in the session token, the conversation
under `web-{visitor}` in ConversationStore); Chatwoot out-records are keys of the keyspace, so the keyspace
adapter writes one the way the webhook worker does.
"""
from __future__ import annotations

import dataclasses
import json
import secrets
import string
import tarfile
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.bookings.catalog import CatalogStore, Professional, Service
from app.channels.widget_channel import WidgetChannel
from app.bookings.store import BookingError, BookingStore, Customer
from app.conversations.history import ConversationStore
from app.knowledge.documents import DocumentService
from app.knowledge.index import KnowledgeIndex, point_id
from app.privacy import subject_rights
from app.privacy.consent import ConsentStore
from app.privacy.learning_outbox import LearningOutbox
from app.privacy.placeholder_store import PlaceholderStore
from app.security.api_keys import hash_key
from app.security.principal import CHAT, Principal
from app.storage.redis_store import TenantKeyspace
from app.storage.redis_values import read_value
from app.tenancy.backup import export_tenant
from app.tenancy.context import TenantContext
from app.tenancy.platform_keys import TenantPlatformKeys, api_key_lookup, client_lookup, publishable_lookup

USER = "ana-1"                       # the same end-user id in both tenants: keys must never collide
NOT_STORES = {"config", "principal"}


@dataclasses.dataclass
class Written:
    traces: tuple[str, ...]          # strings every view of the writer shows, and no other tenant's
    handle: Any = None               # ids another tenant will try to read or delete by


class Adapter:
    store: type

    def write(self, p, ctx, marker: str) -> Written:
        raise NotImplementedError

    def views(self, p, ctx, probes: list[Written]) -> dict[str, Any]:
        """Everything the store shows this context, by name; probes are what every tenant wrote."""
        raise NotImplementedError

    def erase(self, p, ctx, probes: list[Written]) -> None:
        raise NotImplementedError


class KeyspaceAdapter(Adapter):
    store = TenantKeyspace

    def write(self, p, ctx, marker):
        ks = ctx.keyspace
        ks.redis.set(ks.key("session", USER), marker)                  # a migrated single-tenant key
        ks.redis.hset(ks.key("cw", "out", "message_created", "7"), mapping={"user_id": USER, "reply": marker,
                                                                            "status": "sent"})
        return Written((marker,))

    def views(self, p, ctx, probes):
        ks = ctx.keyspace
        return {"get": ks.redis.get(ks.key("session", USER)),
                "scan": {k: read_value(ks.redis, k) for k in ks.scan_keys()}}

    def erase(self, p, ctx, probes):
        keys = list(ctx.keyspace.scan_keys())
        if keys:
            ctx.keyspace.redis.delete(*keys)


class KnowledgeAdapter(Adapter):
    store = KnowledgeIndex

    def write(self, p, ctx, marker):
        index = ctx.knowledge
        index.ensure_collection()
        index.upsert(index.build_points("nota", "nota", [f"nota de la conversación {marker}"],
                                        extra_payload={"user_id": USER}))
        return Written((marker,), {"ids": [point_id(ctx.company_id, "nota", 0)], "query": marker})

    def views(self, p, ctx, probes):
        index = ctx.knowledge
        return {"get": index.get_points([i for w in probes for i in w.handle["ids"]]),
                "scroll": list(index.scroll()),
                "user": list(index.scroll(USER, with_vectors=False)),
                "search": [index.search(w.handle["query"], 5, mode) for w in probes
                           for mode in ("hybrid", "dense", "lexical")]}

    def erase(self, p, ctx, probes):
        ctx.knowledge.delete_for_user(USER)


class DocumentsAdapter(Adapter):
    store = DocumentService

    def write(self, p, ctx, marker):
        record, created = ctx.documents.ingest(f"Tarifa reservada {marker}: tres sesiones de radiofrecuencia.",
                                               f"Tarifas {marker}", size_bytes=80)
        assert created
        return Written((marker,), {"document_id": record.document_id, "query": marker})

    def views(self, p, ctx, probes):
        docs = ctx.documents
        return {"get": [docs.get(w.handle["document_id"]) for w in probes],
                "list": docs.list(1, 100)[0],
                "search": [docs.search(w.handle["query"], 5, mode) for w in probes
                           for mode in ("hybrid", "dense", "lexical")],
                "chunks": list(ctx.knowledge.scroll(with_vectors=False))}

    def erase(self, p, ctx, probes):
        for w in probes:            # by id, including the other tenant's ids
            ctx.documents.delete(w.handle["document_id"])


class ConversationsAdapter(Adapter):
    store = ConversationStore

    def write(self, p, ctx, marker):
        store = ctx.conversations
        store.append(USER, {"role": "user", "content": f"hola, soy {marker}"})
        store.append(f"u-{marker}", {"role": "user", "content": f"hola {marker}"})
        store.hand_off(USER, f"pidió una persona {marker}")            # the bot's on/off state (Chatwoot too)
        return Written((marker,), {"user": f"u-{marker}"})

    def views(self, p, ctx, probes):
        store = ctx.conversations
        return {"history": store.history(USER), "status": store.status(USER),
                "list": store.list(1, 100)[0],
                "by_id": [store.history(w.handle["user"]) for w in probes]}

    def erase(self, p, ctx, probes):
        store = ctx.conversations
        store.delete(USER)
        store.release(USER)
        for w in probes:
            store.delete(w.handle["user"])


ALWAYS_OPEN = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _bookable(ctx, marker: str) -> None:
    """A service and a professional who works around the clock, so a booking can be made at any time."""
    ctx.catalog.put_service(Service(id="consulta", name=f"Consulta {marker}", duration_minutes=30))
    ctx.catalog.put_professional(Professional(id="dra-ana", name="Dra. Ana", service_ids=["consulta"],
                                              weekly_hours=ALWAYS_OPEN))


class BookingsAdapter(Adapter):
    store = BookingStore

    def write(self, p, ctx, marker):
        store = ctx.bookings
        request = store.submit(USER, "web", {"service": f"facial {marker}", "when": "lunes", "name": "Ana"})
        store.update_draft(USER, service=f"masaje {marker}", when="viernes")
        _bookable(ctx, "general")        # the catalog is not personal data: erasure keeps it (CatalogAdapter)
        day = datetime.now(store.tz).date() + timedelta(days=2)     # 10:00 local, two days ahead: on the grid
        start = int(datetime.combine(day, datetime.min.time().replace(hour=10), tzinfo=store.tz).timestamp())
        booking, _ = store.create("consulta", start, Customer(f"Ana {marker}", "+573001112233", None, USER),
                                  idempotency_key=f"key-{USER}")
        return Written((marker,), {"booking_id": booking["booking_id"], "request_id": request["booking_id"]})

    def views(self, p, ctx, probes):
        store = ctx.bookings
        return {"draft": store.draft(USER), "pending": store.pending(1, 100)[0],
                "list": store.list_bookings(1, 100)[0], "mine": store.for_user(USER),
                "by_id": [store.get(w.handle[k]) for w in probes for k in ("booking_id", "request_id")]}

    def erase(self, p, ctx, probes):
        # Bookings are removed by the data-subject erasure only; that is the store's delete path.
        subject_rights.bookings_section(p, ctx).erase(USER)
        own = {b["booking_id"] for b in ctx.bookings.list_bookings(1, 100)[0]}
        for w in probes:         # another tenant's booking id is not found here: nothing to cancel
            if w.handle["booking_id"] not in own:
                with pytest.raises(BookingError, match="no booking"):
                    ctx.bookings.cancel(w.handle["booking_id"], enforce_window=False)


class CatalogAdapter(Adapter):
    store = CatalogStore

    def write(self, p, ctx, marker):
        _bookable(ctx, marker)
        return Written((marker,), {"service_id": "consulta"})

    def views(self, p, ctx, probes):
        catalog = ctx.catalog
        return {"services": catalog.services(), "by_id": [catalog.service(w.handle["service_id"]) for w in probes],
                "export": catalog.export()}

    def erase(self, p, ctx, probes):
        ctx.catalog.delete_professional("dra-ana")
        for w in probes:
            ctx.catalog.delete_service(w.handle["service_id"])


class ConsentAdapter(Adapter):
    store = ConsentStore

    def write(self, p, ctx, marker):
        ctx.consent.record(USER, "marketing", True, "api", source=marker)
        return Written((marker,))

    def views(self, p, ctx, probes):
        return {"get": ctx.consent.get(USER), "history": ctx.consent.history(USER)}

    def erase(self, p, ctx, probes):
        ctx.consent.erase(USER)


class PlaceholdersAdapter(Adapter):
    store = PlaceholderStore

    def write(self, p, ctx, marker):
        ctx.placeholders.save(USER, {"<PERSON_1>": marker})
        return Written((marker,))

    def views(self, p, ctx, probes):
        return {"load": ctx.placeholders.load(USER)}

    def erase(self, p, ctx, probes):
        ctx.placeholders.delete(USER)


class OutboxAdapter(Adapter):
    store = LearningOutbox

    def write(self, p, ctx, marker):
        ctx.outbox.push(USER, f"¿tienen parqueadero? {marker}", True, "support", "es")
        return Written((marker,))

    def views(self, p, ctx, probes):
        return {"for_user": ctx.outbox.for_user(USER)}

    def erase(self, p, ctx, probes):
        ctx.outbox.drop_user(USER)


class PlatformKeysAdapter(Adapter):
    """API keys, client credentials, publishable keys and HMAC secrets: records under the prefix, lookups
    in the platform namespace, found through ctx.platform_keys."""
    store = TenantPlatformKeys

    def write(self, p, ctx, marker):
        ks, cid = ctx.keyspace, ctx.company_id
        api_key, key_id = p.api_keys.issue(cid, ks, {CHAT}, label=marker)
        client_id, _ = p.secrets.issue_client(cid, ks)
        pk = p.secrets.issue_publishable(cid, ks)
        _, hmac_secret = p.secrets.issue_hmac_secret(ks)
        ks.redis.hset(ctx.platform_keys.migration, "report", marker)
        return Written((marker, api_key_lookup(hash_key(api_key)), client_lookup(client_id), publishable_lookup(pk),
                        hmac_secret), {"key_id": key_id, "client_id": client_id})

    def views(self, p, ctx, probes):
        ks, r = ctx.keyspace, ctx.keyspace.redis
        return {"lookups": ctx.platform_keys.lookups(), "owned": ctx.platform_keys.owned(),
                "migration": r.hgetall(ctx.platform_keys.migration), "api_keys": p.api_keys.list_keys(ks),
                "hmac": [s.decode() for s in p.secrets.hmac_secrets(ks)]}

    def erase(self, p, ctx, probes):
        ks = ctx.keyspace
        for w in probes:
            p.api_keys.revoke(ks, w.handle["key_id"])
            p.secrets.revoke_client(ks, w.handle["client_id"])
        ctx.platform_keys.delete()
        p.api_keys.purge_tenant(ks)
        hmac_records = list(ks.scan_keys("hmac"))
        if hmac_records:
            ks.redis.delete(*hmac_records)


class WidgetAdapter(Adapter):
    store = WidgetChannel
    VISITOR = "v_" + USER                # the same visitor id in both tenants

    def write(self, p, ctx, marker):
        w = ctx.widget
        w.publish(self.VISITOR, "message", {"role": "bot", "text": f"respuesta {marker}"})
        w.set_profile(self.VISITOR, {"name": f"Ana {marker}"}, 3600)
        w.claim_message(self.VISITOR, f"key-{marker}")
        w.store_reply(self.VISITOR, f"key-{marker}", {"bot_response": f"guardada {marker}"})
        return Written((marker,), {"key": f"key-{marker}"})

    def views(self, p, ctx, probes):
        w = ctx.widget
        return {"events": w.read(self.VISITOR, "0-0", 0) or [], "profile": w.profile(self.VISITOR),
                "export": w.export_user("web-" + self.VISITOR),
                "replies": [w.claim_message(self.VISITOR, probe.handle["key"]) for probe in probes]}

    def erase(self, p, ctx, probes):
        ctx.widget.erase_user("web-" + self.VISITOR)


ADAPTERS: dict[str, Adapter] = {
    "keyspace": KeyspaceAdapter(), "knowledge": KnowledgeAdapter(), "documents": DocumentsAdapter(),
    "conversations": ConversationsAdapter(), "bookings": BookingsAdapter(), "catalog": CatalogAdapter(),
    "consent": ConsentAdapter(),
    "placeholders": PlaceholdersAdapter(), "outbox": OutboxAdapter(), "platform_keys": PlatformKeysAdapter(),
    "widget": WidgetAdapter(),
}


def marker(company_id: str) -> str:
    # Letters only, so the lexical analyser keeps it one searchable token.
    return company_id + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


def text(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


@dataclasses.dataclass
class World:
    p: Any
    alpha: TenantContext
    beta: TenantContext


@pytest.fixture
def world(app) -> World:
    p = app.extensions["misybot"]
    # Contexts opened the way requests open them: from each tenant's own authenticated principal.
    alpha = p.tenant_context(p.registry.get("alpha"), Principal("api_key", "alpha", frozenset({"admin"}), "key_a"))
    beta = p.tenant_context(p.registry.get("beta"), Principal("api_key", "beta", frozenset({"admin"}), "key_b"))
    return World(p, alpha, beta)


def write_both(adapter: Adapter, w: World) -> tuple[Written, Written]:
    mine = adapter.write(w.p, w.alpha, marker("alpha"))
    theirs = adapter.write(w.p, w.beta, marker("beta"))
    return mine, theirs


def assert_sees(adapter, w, ctx, written: Written, probes) -> None:
    """The writer finds its data in every view, and every trace in some view: so a view that is blind
    (or an adapter that writes nothing) cannot pass the isolation tests."""
    views = {name: text(view) for name, view in adapter.views(w.p, ctx, probes).items()}
    for name, view in views.items():
        assert any(t in view for t in written.traces), f"{ctx.company_id} cannot see its own data in {name!r}"
    for trace in written.traces:
        assert any(trace in view for view in views.values()), f"{ctx.company_id} cannot find {trace!r}"


def assert_sees_none(adapter, w, ctx, written: Written, probes) -> None:
    for name, view in adapter.views(w.p, ctx, probes).items():
        leaked = [t for t in written.traces if t in text(view)]
        assert not leaked, f"{ctx.company_id} sees another tenant's data in view {name!r}: {leaked}"


def test_every_store_of_the_context_has_an_adapter(world):
    stores = {f.name for f in dataclasses.fields(TenantContext)} - NOT_STORES
    assert stores == set(ADAPTERS), "a TenantContext store without a conformance adapter (or a stale adapter)"
    for name in stores:
        assert isinstance(getattr(world.alpha, name), ADAPTERS[name].store), name


@pytest.mark.parametrize("store", sorted(ADAPTERS))
def test_another_tenant_reads_lists_and_searches_nothing(store, world):
    adapter = ADAPTERS[store]
    mine, theirs = write_both(adapter, world)
    probes = [mine, theirs]
    assert_sees(adapter, world, world.alpha, mine, probes)
    assert_sees(adapter, world, world.beta, theirs, probes)
    assert_sees_none(adapter, world, world.beta, mine, probes)
    assert_sees_none(adapter, world, world.alpha, theirs, probes)


@pytest.mark.parametrize("store", sorted(ADAPTERS))
def test_another_tenants_erase_leaves_the_data(store, world):
    adapter = ADAPTERS[store]
    mine, theirs = write_both(adapter, world)
    probes = [mine, theirs]
    adapter.erase(world.p, world.beta, probes)
    assert_sees_none(adapter, world, world.beta, theirs, probes)           # the erase did erase beta's
    assert_sees(adapter, world, world.alpha, mine, probes)


@pytest.mark.parametrize("store", sorted(ADAPTERS))
def test_another_tenants_export_backup_and_erasure_leave_the_data(store, world, tmp_path):
    adapter = ADAPTERS[store]
    mine, theirs = write_both(adapter, world)
    probes = [mine, theirs]
    exported = subject_rights.export_user(world.p, world.beta, USER)
    manifest = export_tenant(world.p, world.beta, tmp_path / "beta.tar.gz")
    with tarfile.open(tmp_path / "beta.tar.gz") as tar:
        archive = "".join(tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile())
    assert manifest["company_id"] == "beta"
    for trace in mine.traces:
        assert trace not in text(exported) and trace not in archive
    receipt = subject_rights.erase_user(world.p, world.beta, USER)
    assert receipt["complete"], receipt["failed"]
    assert_sees(adapter, world, world.alpha, mine, probes)


@pytest.mark.parametrize("principal", [
    Principal("api_key", "beta", frozenset({"admin"}), "key_b"),
    Principal("tenant_token", "beta", frozenset({"admin"}), "jti"),
    Principal("widget", "beta", frozenset({CHAT}), "jti"),
    Principal("chatwoot", "beta"),
    Principal("api_key", None),
])
def test_a_principal_opens_only_its_own_tenant(app, principal):
    p = app.extensions["misybot"]
    with pytest.raises(PermissionError):
        p.tenant_context(p.registry.get("alpha"), principal)


def test_the_company_check_holds_inside_one_collection(world):
    """Defence in depth: an index of beta pointed at alpha's collection (a bad migration or restore)
    neither sees, exports, counts nor erases alpha's points, and refuses to write points naming alpha."""
    mine = ADAPTERS["knowledge"].write(world.p, world.alpha, marker("alpha"))
    a = world.alpha.knowledge
    stray = KnowledgeIndex(world.p.vectors, a.collection, "beta", "es", world.p.embedder, a.dense_weight)
    assert stray.count() == 0 and stray.count(USER) == 0
    assert list(stray.scroll()) == [] and stray.get_points(mine.handle["ids"]) == []
    assert all(stray.search(mine.handle["query"], 5, mode) == [] for mode in ("hybrid", "dense", "lexical"))
    assert stray.delete_for_user(USER) == 0
    stray.delete_document_points("nota", 0)            # by payload only: alpha's chunk has another company
    with pytest.raises(ValueError):
        stray.upsert_points(list(a.scroll()))
    assert a.count() == 1 and a.count(USER) == 1
    assert mine.traces[0] in text(list(a.scroll(USER, with_vectors=False)))
