"""Tenant API: the booking catalog (admin), availability and bookings. Everything works only inside g.tenant:
an id in a path or query names a service, professional or booking of the caller's own company, or is a 404."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import Blueprint, Response, current_app, g, jsonify, request

from app.api.booking_models import (
    Availability,
    AvailabilityQuery,
    BookingIn,
    BookingList,
    BookingOut,
    BookingQuery,
    CalendarFeed,
    CatalogDeleted,
    ConfirmIn,
    ExceptionIn,
    IdempotencyHeader,
    ProfessionalIn,
    ProfessionalList,
    RescheduleIn,
    ServiceIn,
    ServiceList,
    ServiceOut,
    ServicePatch,
    StatusIn,
    WebhookSettings,
    as_datetime,
)
from app.api.contract import TENANT, api, json_body, query_args, responses
from app.api.errors import ApiError
from app.api.validation import paginated
from app.bookings.catalog import CATALOG_ID, CatalogError, Professional, Service, public_service
from app.bookings.ical_feeds import CalendarFeeds, booking_calendar
from app.bookings.store import BOOKING_ID, BookingError, Customer, fingerprint
from app.bookings.webhooks import EVENT_TYPES, BookingWebhooks
from app.security.guard import require_tenant
from app.security.principal import ADMIN, BOOKINGS_READ, BOOKINGS_WRITE, Principal

bp = Blueprint("bookings", __name__)
TENANT_ERRORS = (401, 403, 429, 503)
MAX_RANGE_DAYS = 62
FEED_PAST_DAYS = 60          # a feed shows the last two months and everything ahead


def _doc(*errors: int, tag: str = "bookings", **kw):
    json_model, query, headers = kw.pop("json", None), kw.pop("query", None), kw.pop("headers", None)
    return api.validate(json=json_model, query=query, headers=headers, security=TENANT, tags=[tag],
                        resp=responses(*TENANT_ERRORS, *errors, **kw))


def _booking_error(exc: BookingError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, **exc.details)


def _catalog_error(exc: CatalogError) -> ApiError:
    return ApiError(409, "catalog_conflict", str(exc))


# -- catalog: services -------------------------------------------------------------------------------
@bp.get("/catalog/services")
@require_tenant(BOOKINGS_READ)
@_doc(tag="catalog", HTTP_200=ServiceList)
def list_services():
    """The company's services, with the professionals who offer each"""
    catalog = g.tenant.catalog
    pros = catalog.professionals()
    return jsonify({"services": [public_service(s, pros) for s in catalog.services()]})


@bp.post("/catalog/services")
@require_tenant(ADMIN)
@_doc(409, tag="catalog", json=ServiceIn, HTTP_201=ServiceOut)
def create_service():
    """Add a service (409 `service_exists` for a taken id)"""
    body = json_body(ServiceIn)
    service = Service.model_validate(body.model_dump())
    if g.tenant.catalog.service(service.id) is not None:
        raise ApiError(409, "service_exists", f"service {service.id!r} already exists; PUT /catalog/services/<id>")
    g.tenant.catalog.put_service(service)
    return jsonify(public_service(service, g.tenant.catalog.professionals())), 201


def _service(service_id: str) -> Service:
    service = g.tenant.catalog.service(service_id) if _valid_id(service_id) else None
    if service is None:
        raise ApiError(404, "service_not_found", f"no service {service_id!r}")
    return service


def _valid_id(value: str) -> bool:
    return re.fullmatch(CATALOG_ID, value) is not None


@bp.get("/catalog/services/<service_id>")
@require_tenant(BOOKINGS_READ)
@_doc(404, tag="catalog", HTTP_200=ServiceOut)
def get_service(service_id: str):
    """One service"""
    return jsonify(public_service(_service(service_id), g.tenant.catalog.professionals()))


@bp.put("/catalog/services/<service_id>")
@require_tenant(ADMIN)
@_doc(tag="catalog", json=ServiceIn, HTTP_200=ServiceOut, HTTP_201=ServiceOut)
def put_service(service_id: str):
    """Create or replace a service (the body's id must be the path's)"""
    body = json_body(ServiceIn)
    if body.id != service_id:
        raise ApiError(400, "id_mismatch", "the body's id must match the path")
    service = Service.model_validate(body.model_dump())
    created = g.tenant.catalog.put_service(service)
    return jsonify(public_service(service, g.tenant.catalog.professionals())), 201 if created else 200


@bp.patch("/catalog/services/<service_id>")
@require_tenant(ADMIN)
@_doc(404, tag="catalog", json=ServicePatch, HTTP_200=ServiceOut)
def patch_service(service_id: str):
    """Change some fields of a service (e.g. `{"active": false}`, a new price)"""
    current = _service(service_id)
    changes = json_body(ServicePatch).model_dump(exclude_unset=True)
    try:
        service = Service.model_validate(current.model_dump() | changes)
    except ValueError as exc:
        raise ApiError(400, "invalid_service", str(exc)) from None
    g.tenant.catalog.put_service(service)
    return jsonify(public_service(service, g.tenant.catalog.professionals()))


@bp.delete("/catalog/services/<service_id>")
@require_tenant(ADMIN)
@_doc(404, 409, tag="catalog", HTTP_200=CatalogDeleted)
def delete_service(service_id: str):
    """Delete a service no professional offers any more (409 otherwise; deactivate it instead)"""
    _service(service_id)
    try:
        g.tenant.catalog.delete_service(service_id)
    except CatalogError as exc:
        raise ApiError(409, "service_in_use", str(exc)) from None
    return jsonify({"id": service_id, "deleted": True})


# -- catalog: professionals --------------------------------------------------------------------------
def _professional(professional_id: str) -> Professional:
    pro = g.tenant.catalog.professional(professional_id) if _valid_id(professional_id) else None
    if pro is None:
        raise ApiError(404, "professional_not_found", f"no professional {professional_id!r}")
    return pro


def _save_professional(pro: Professional) -> bool:
    try:
        return g.tenant.catalog.put_professional(pro)
    except CatalogError as exc:
        raise ApiError(422, "unknown_service", str(exc)) from None


@bp.get("/catalog/professionals")
@require_tenant(BOOKINGS_READ)
@_doc(tag="catalog", HTTP_200=ProfessionalList)
def list_professionals():
    """The company's professionals, their services, hours, breaks and exceptions"""
    return jsonify({"professionals": [p.model_dump(mode="json") for p in g.tenant.catalog.professionals()]})


@bp.post("/catalog/professionals")
@require_tenant(ADMIN)
@_doc(409, 422, tag="catalog", json=ProfessionalIn, HTTP_201=Professional)
def create_professional():
    """Add a professional (409 `professional_exists` for a taken id; 422 for an unknown service)"""
    pro = Professional.model_validate(json_body(ProfessionalIn).model_dump())
    if g.tenant.catalog.professional(pro.id) is not None:
        raise ApiError(409, "professional_exists", f"professional {pro.id!r} already exists")
    _save_professional(pro)
    return jsonify(pro.model_dump(mode="json")), 201


@bp.get("/catalog/professionals/<professional_id>")
@require_tenant(BOOKINGS_READ)
@_doc(404, tag="catalog", HTTP_200=Professional)
def get_professional(professional_id: str):
    """One professional"""
    return jsonify(_professional(professional_id).model_dump(mode="json"))


@bp.put("/catalog/professionals/<professional_id>")
@require_tenant(ADMIN)
@_doc(422, tag="catalog", json=ProfessionalIn, HTTP_200=Professional, HTTP_201=Professional)
def put_professional(professional_id: str):
    """Create or replace a professional (hours, services, breaks, exceptions)"""
    body = json_body(ProfessionalIn)
    if body.id != professional_id:
        raise ApiError(400, "id_mismatch", "the body's id must match the path")
    pro = Professional.model_validate(body.model_dump())
    created = _save_professional(pro)
    return jsonify(pro.model_dump(mode="json")), 201 if created else 200


@bp.delete("/catalog/professionals/<professional_id>")
@require_tenant(ADMIN)
@_doc(404, tag="catalog", HTTP_200=CatalogDeleted)
def delete_professional(professional_id: str):
    """Remove a professional (their existing bookings stay; cancel or move them first if needed)"""
    _professional(professional_id)
    g.tenant.catalog.delete_professional(professional_id)
    return jsonify({"id": professional_id, "deleted": True})


@bp.post("/catalog/professionals/<professional_id>/exceptions")
@require_tenant(ADMIN)
@_doc(404, tag="catalog", json=ExceptionIn, HTTP_200=Professional)
def put_exception(professional_id: str):
    """Add or replace the exception of one date (a holiday, a day off, extra hours)"""
    pro = _professional(professional_id)
    exc = json_body(ExceptionIn)
    kept = [e for e in pro.exceptions if e.date != exc.date]
    pro = pro.model_copy(update={"exceptions": sorted([*kept, exc], key=lambda e: e.date)})
    _save_professional(pro)
    return jsonify(pro.model_dump(mode="json"))


@bp.delete("/catalog/professionals/<professional_id>/exceptions/<day>")
@require_tenant(ADMIN)
@_doc(404, tag="catalog", HTTP_200=Professional)
def delete_exception(professional_id: str, day: str):
    """Remove the exception of one date (YYYY-MM-DD)"""
    pro = _professional(professional_id)
    kept = [e for e in pro.exceptions if e.date.isoformat() != day]
    if len(kept) == len(pro.exceptions):
        raise ApiError(404, "exception_not_found", f"{pro.name} has no exception on {day!r}")
    pro = pro.model_copy(update={"exceptions": kept})
    _save_professional(pro)
    return jsonify(pro.model_dump(mode="json"))


# -- availability --------------------------------------------------------------------------------------
@bp.get("/availability")
@require_tenant(BOOKINGS_READ)
@_doc(404, 422, query=AvailabilityQuery, HTTP_200=Availability)
def availability():
    """Free slots of a service (optionally with one professional) between `from` and `to`"""
    q = query_args(AvailabilityQuery)
    store = g.tenant.bookings
    tz = store.tz
    start = as_datetime(q.start, tz) if q.start is not None else datetime.now(tz)
    end = as_datetime(q.end, tz, end_of_day=True) if q.end is not None else start + timedelta(days=7)
    if end <= start:
        raise ApiError(400, "invalid_range", "`to` must be after `from`")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise ApiError(400, "invalid_range", f"ask for at most {MAX_RANGE_DAYS} days at a time")
    try:
        slots = store.availability(q.service, q.professional, int(start.timestamp()), int(end.timestamp()),
                                   q.limit + 1)
    except BookingError as exc:
        raise _booking_error(exc) from None
    names = {p.id: p.name for p in g.tenant.catalog.professionals()}
    out = [{"start": datetime.fromtimestamp(s.start, tz).isoformat(), "end": datetime.fromtimestamp(s.end, tz).isoformat(),
            "professional_id": s.professional_id, "professional_name": names.get(s.professional_id, "")}
           for s in slots[: q.limit]]
    return jsonify({"service_id": q.service, "timezone": str(tz), "slots": out, "truncated": len(slots) > q.limit})


# -- bookings ------------------------------------------------------------------------------------------
def _may_override_window() -> bool:
    return g.principal.allows(ADMIN)


@bp.post("/bookings")
@require_tenant(BOOKINGS_WRITE)
@_doc(404, 409, 422, json=BookingIn, headers=IdempotencyHeader, HTTP_201=BookingOut, HTTP_200=BookingOut)
def create_booking():
    """Book a slot. 409 `slot_taken` when someone else got it first; an `Idempotency-Key` header makes a
    retry answer the first booking (200) instead of booking twice"""
    body = json_body(BookingIn)
    key = request.headers.get("Idempotency-Key")
    customer = Customer(body.customer.name, body.customer.phone, body.customer.email, body.customer.user_id)
    try:
        booking, created = g.tenant.bookings.create(
            body.service_id, int(body.start.timestamp()), customer, body.professional_id, channel=body.channel,
            idempotency_key=key, fingerprint=fingerprint(body.model_dump(mode="json")))
    except BookingError as exc:
        raise _booking_error(exc) from None
    return jsonify(booking), 201 if created else 200


@bp.get("/bookings")
@require_tenant(BOOKINGS_READ)
@_doc(query=BookingQuery, HTTP_200=BookingList)
def list_bookings():
    """Bookings by start time, filtered by local day, professional, customer (user_id) or status
    (`?status=pending`: the requests the bot collected for staff to confirm, newest first)"""
    q = query_args(BookingQuery)

    def page_of(page, per_page):
        return g.tenant.bookings.list_bookings(page, per_page, day=q.day.isoformat() if q.day else None,
                                               professional_id=q.professional, user_id=q.customer, status=q.status)
    return jsonify(paginated("bookings", page_of, q.page, q.per_page))


def _booking_id(booking_id: str) -> str:
    if re.fullmatch(BOOKING_ID, booking_id) is None:
        raise ApiError(404, "booking_not_found", f"no booking {booking_id!r}")
    return booking_id


@bp.get("/bookings/<booking_id>")
@require_tenant(BOOKINGS_READ)
@_doc(404, HTTP_200=BookingOut)
def get_booking(booking_id: str):
    """One booking"""
    booking = g.tenant.bookings.get(_booking_id(booking_id))
    if booking is None:
        raise ApiError(404, "booking_not_found", f"no booking {booking_id!r}")
    return jsonify(booking)


@bp.post("/bookings/<booking_id>/reschedule")
@require_tenant(BOOKINGS_WRITE)
@_doc(404, 409, 422, json=RescheduleIn, HTTP_200=BookingOut)
def reschedule_booking(booking_id: str):
    """Move a booking (the same atomic check as a new one; `admin` may move it inside the cancellation window)"""
    body = json_body(RescheduleIn)
    try:
        return jsonify(g.tenant.bookings.reschedule(_booking_id(booking_id), int(body.start.timestamp()),
                                                    body.professional_id, enforce_window=not _may_override_window()))
    except BookingError as exc:
        raise _booking_error(exc) from None


@bp.post("/bookings/<booking_id>/cancel")
@require_tenant(BOOKINGS_WRITE)
@_doc(404, 409, HTTP_200=BookingOut)
def cancel_booking(booking_id: str):
    """Cancel a booking or a pending request (`admin` may cancel inside the cancellation window)"""
    try:
        return jsonify(g.tenant.bookings.cancel(_booking_id(booking_id), enforce_window=not _may_override_window()))
    except BookingError as exc:
        raise _booking_error(exc) from None


@bp.post("/bookings/<booking_id>/confirm")
@require_tenant(BOOKINGS_WRITE)
@_doc(404, 409, 422, json=ConfirmIn, HTTP_200=BookingOut)
def confirm_request(booking_id: str):
    """Turn a pending request into a booking at a real slot (409 `slot_taken` if it is no longer free)"""
    body = json_body(ConfirmIn)
    try:
        return jsonify(g.tenant.bookings.confirm_request(_booking_id(booking_id), body.service_id,
                                                         int(body.start.timestamp()), body.professional_id))
    except BookingError as exc:
        raise _booking_error(exc) from None


@bp.post("/bookings/<booking_id>/status")
@require_tenant(BOOKINGS_WRITE)
@_doc(404, 409, json=StatusIn, HTTP_200=BookingOut)
def set_booking_status(booking_id: str):
    """Record what happened once the appointment started: `completed` or `no_show`"""
    try:
        return jsonify(g.tenant.bookings.set_status(_booking_id(booking_id), json_body(StatusIn).status))
    except BookingError as exc:
        raise _booking_error(exc) from None


# -- calendar feeds and booking webhooks --------------------------------------------------------------------
def _feeds() -> CalendarFeeds:
    return CalendarFeeds(g.tenant.keyspace.redis, g.tenant.keyspace, g.tenant.company_id)


def _feed_urls(token: str) -> dict:
    base = request.host_url.rstrip("/")
    pros = g.tenant.catalog.professionals()
    return {"company_feed": f"{base}/calendar/{token}/company.ics",
            "professional_feeds": {p.id: f"{base}/calendar/{token}/professionals/{p.id}.ics" for p in pros}}


@bp.get("/calendar/feeds")
@require_tenant(ADMIN)
@_doc(tag="calendar", HTTP_200=CalendarFeed)
def calendar_feeds():
    """The secret iCalendar feed URLs of the company and of each professional (subscribe from any calendar app)"""
    return jsonify(_feed_urls(_feeds().token()))


@bp.post("/calendar/feeds/rotate")
@require_tenant(ADMIN)
@_doc(tag="calendar", HTTP_200=CalendarFeed)
def rotate_calendar_feeds():
    """A new feed secret: the old URLs stop working at once"""
    return jsonify(_feed_urls(_feeds().rotate()))


def _feed_tenant(token: str):
    """The feed's company, from its secret token alone (a calendar app sends no other credential)."""
    platform = current_app.extensions["misybot"]
    company_id = CalendarFeeds.company_for(platform.redis, token)
    config = platform.registry.get(company_id) if company_id else None
    if config is None:
        raise ApiError(404, "feed_not_found", "no calendar feed at this address (it may have been rotated)")
    return platform.tenant_context(config, Principal("calendar_feed", company_id, frozenset({BOOKINGS_READ})))


def _calendar_response(ctx, professional_id: str | None):
    now = ctx.bookings.clock()
    lo, hi = int(now - FEED_PAST_DAYS * 86400), int(now + ctx.config.booking.max_advance_days * 86400)
    rows = [b for b in ctx.bookings.list_range(lo, hi) if b["status"] != "pending"
            and (professional_id is None or b["professional_id"] == professional_id)]
    name = ctx.config.company_name
    if professional_id is not None:
        pro = ctx.catalog.professional(professional_id) if _valid_id(professional_id) else None
        if pro is None:
            raise ApiError(404, "professional_not_found", f"no professional {professional_id!r}")
        name = f"{pro.name} — {ctx.config.company_name}"
    body = booking_calendar(rows, company_name=ctx.config.company_name, location=ctx.config.booking.location,
                            calendar_name=name, timezone=ctx.config.timezone)
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})


# The secret token in the path is the credential: calendar apps send nothing else.
_feed_doc = api.validate(tags=["calendar"], resp=responses(404, HTTP_200=None))


@bp.get("/calendar/<token>/company.ics")
@_feed_doc
def company_calendar(token: str):
    """The company's bookings as an iCalendar feed (text/calendar)"""
    return _calendar_response(_feed_tenant(token), None)


@bp.get("/calendar/<token>/professionals/<professional_id>.ics")
@_feed_doc
def professional_calendar(token: str, professional_id: str):
    """One professional's bookings as an iCalendar feed (text/calendar)"""
    return _calendar_response(_feed_tenant(token), professional_id)


def _webhook_settings(secret: str) -> dict:
    return {"url": g.tenant.config.booking.webhook_url, "secret": secret, "events": list(EVENT_TYPES)}


@bp.get("/booking-webhook")
@require_tenant(ADMIN)
@_doc(tag="calendar", HTTP_200=WebhookSettings)
def booking_webhook():
    """Where booking events go (`booking.webhook_url` in the company's config) and the secret that signs them"""
    return jsonify(_webhook_settings(BookingWebhooks(g.tenant.keyspace, _vault(), None).secret()))


@bp.post("/booking-webhook/rotate")
@require_tenant(ADMIN)
@_doc(tag="calendar", HTTP_200=WebhookSettings)
def rotate_booking_webhook():
    """A new signing secret; events still queued are signed with it"""
    return jsonify(_webhook_settings(BookingWebhooks(g.tenant.keyspace, _vault(), None).rotate_secret()))


def _vault():
    return current_app.extensions["misybot"].vault
