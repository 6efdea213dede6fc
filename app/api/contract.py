"""The published API contract: views declare their pydantic models with `@api.validate(...)`; spectree checks
requests against them and builds the OpenAPI 3.1 description served at /openapi.json. /docs/ is Swagger UI
from flask-swagger-ui's bundled files (no CDN: the service may run without internet).

init_app(app) also installs the request-parsing layer (strict JSON, our error for headers that are too
large): every request goes through it, documented or not.
"""
from __future__ import annotations

from typing import TypeVar

from flask import Flask, current_app, request
from flask import Response as FlaskResponse
from flask_swagger_ui import get_swaggerui_blueprint
from pydantic import BaseModel, ValidationError
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree
from spectree.model_adapter import get_pydantic_model_adapter
from spectree.plugins.flask_plugin import FlaskPlugin

from app.api.errors import refuse_oversized_headers
from app.api.models import ErrorResponse
from app.api.validation import ApiRequest, StrictJSONProvider, invalid_input, json_object
from app.bookings.catalog import CATALOG_ID
from app.bookings.ical_feeds import FEED_TOKEN_PATTERN
from app.bookings.store import BOOKING_ID
from app.conversations.history import USER_ID_PATTERN

# Who may call what (README, "Credentials"): alternatives, any one of which is enough.
Security = list[dict[str, list[str]]]
TENANT: Security = [{"ApiKey": []}, {"TenantToken": [], "HmacSignature": []}]
ADMIN: Security = [{"AdminToken": []}]
COMPANY_OR_ADMIN: Security = [{"ApiKey": []}, {"AdminToken": []}]
WIDGET: Security = [{"WidgetSession": []}]
CHATWOOT: Security = [{"ChatwootSignature": []}, {"ChatwootUrlToken": []}]


def _scheme(label: str, description: str, **data) -> SecurityScheme:
    return SecurityScheme(name=label, data=SecuritySchemeData.model_validate(
        {**data, "description": description}, model_adapter=get_pydantic_model_adapter()))


SECURITY_SCHEMES = [
    _scheme("ApiKey", "a tenant API key (msk_…) with the permission the route needs",
            type="apiKey", **{"in": "header"}, name="X-API-Key"),
    _scheme("TenantToken", "a tenant access token from POST /v1/auth/token, always with an HMAC signature",
            type="http", scheme="bearer", bearerFormat="JWT"),
    _scheme("HmacSignature", "hex HMAC-SHA256(secret, \"{X-Misy-Timestamp}.{X-Misy-Nonce}.{METHOD}.{path}.{raw body}\"),"
            " sent with those two headers", type="apiKey", **{"in": "header"}, name="X-Misy-Signature"),
    _scheme("AdminToken", "the platform admin token (MISYBOT_ADMIN_TOKEN)", type="http", scheme="bearer"),
    _scheme("WidgetSession", "a widget session token from POST /v1/widget/session, sent from a page of an allowed "
            "Origin", type="http", scheme="bearer", bearerFormat="JWT"),
    _scheme("ChatwootSignature", "sha256= HMAC of \"{X-Chatwoot-Timestamp}.{raw body}\" with the company's webhook "
            "secret", type="apiKey", **{"in": "header"}, name="X-Chatwoot-Signature"),
    _scheme("ChatwootUrlToken", "only for a company that allows unsigned webhooks",
            type="apiKey", **{"in": "query"}, name="token"),
]


# Path parameters whose format the views check (a 400 otherwise).
PATH_PATTERNS = {"user_id": USER_ID_PATTERN.pattern, "token": FEED_TOKEN_PATTERN, "professional_id": CATALOG_ID,
                 "service_id": CATALOG_ID, "booking_id": BOOKING_ID, "day": r"^\d{4}-\d{2}-\d{2}$"}


class _ContractPlugin(FlaskPlugin):
    """spectree's Flask plugin, answering in our error shape and with our status codes."""

    def request_validation(self, request, query, json, form, headers, cookies):
        if json is not None and not (form is not None and request.mimetype == "multipart/form-data"):
            # 415 for another media type, 400 invalid_json for a body that is not a JSON object. A route whose
            # fields are all optional also takes no body at all.
            json_object(empty_is_object=not any(f.is_required() for f in json.model_fields.values()))
        try:
            super().request_validation(request, query, json, form, headers, cookies)
        except ValidationError as exc:
            model = next(m for m in (query, json, form, headers, cookies) if m is not None and m.__name__ == exc.title)
            raise invalid_input(exc, model) from None

    def parse_path(self, route, path_parameter_descriptions):
        path, parameters = super().parse_path(route, path_parameter_descriptions)
        for parameter in parameters:
            if parameter["name"] in PATH_PATTERNS:
                parameter["schema"]["pattern"] = PATH_PATTERNS[parameter["name"]]
        return path, parameters

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        # Responses are held to the contract by tests (tests/test_api_contract.py); at run time a drift must
        # not turn an answer into a 500. A streamed body (the widget's Server-Sent Events) is passed through
        # untouched: reading it here would hold every event back until the stream ends.
        if isinstance(resp, FlaskResponse) and resp.is_streamed:
            return resp, None
        return super().validate_response(resp, resp_model, True, force_resp_serialize)

    def register_route(self, app):
        app.add_url_rule("/openapi.json", "openapi", lambda: current_app.json.response(self.spectree.spec))


api = SpecTree(
    backend=_ContractPlugin,
    title="Misybot API",
    version="1.0.0",
    description="Multi-tenant AI customer service. Errors are always JSON: "
                "{\"error\": {\"code\": \"snake_case\", \"message\": \"…\"}}.",
    mode="strict",
    validation_error_status=400,
    validation_error_model=ErrorResponse,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=SECURITY_SCHEMES,
    annotations=False,
)


M = TypeVar("M", bound=BaseModel)


def _validated(part: str, model: type[M]) -> M:
    value = getattr(getattr(request, "context", None), part, None)
    if not isinstance(value, model):
        raise TypeError(f"the view reads a {part} {model.__name__} that its @api.validate does not declare")
    return value


def json_body(model: type[M]) -> M:
    """The JSON body spectree validated for this request."""
    return _validated("json", model)


def form_body(model: type[M]) -> M | None:
    """The multipart body spectree validated, or None when the request sent JSON instead."""
    sent = getattr(getattr(request, "context", None), "form", None)
    return None if sent is None else _validated("form", model)


def query_args(model: type[M]) -> M:
    """The query string spectree validated for this request."""
    return _validated("query", model)


def responses(*errors: int, **ok) -> Response:
    """ok: HTTP_200=Model, …; errors: the statuses answered with our error JSON."""
    return Response(**ok, **{f"HTTP_{code}": ErrorResponse for code in errors})


def init_app(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
    app.request_class = ApiRequest
    app.before_request(refuse_oversized_headers)
    api.register(app)
    app.register_blueprint(get_swaggerui_blueprint("/docs", "/openapi.json", config={"app_name": "Misybot API"}))
