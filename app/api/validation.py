"""Small request-parsing helpers shared by blueprints: each failure is a 400 with a precise message."""
from __future__ import annotations

from flask import request

from app.api.errors import ApiError


def json_object() -> dict:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body


def int_arg(name: str, default: int, low: int, high: int, source: dict | None = None) -> int:
    raw = (source if source is not None else request.args).get(name, default)
    if isinstance(raw, bool):
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer between {low} and {high}")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer between {low} and {high}") from None
    if not low <= value <= high or (isinstance(raw, float) and raw != value):
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer between {low} and {high}")
    return value


def optional_str(body: dict, name: str, max_len: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid_parameter", f"{name} must be a string")
    if len(value) > max_len:
        raise ApiError(400, "invalid_parameter", f"{name} must be at most {max_len} characters")
    return value


def required_text(body: dict, name: str, max_len: int, code: str) -> str:
    """A non-empty string field of at most max_len characters, or a 400 with `code`."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, code, f"'{name}' must be a non-empty string")
    if len(value) > max_len:
        raise ApiError(400, code, f"'{name}' must be at most {max_len} characters")
    return value.strip()


def pagination() -> tuple[int, int]:
    return int_arg("page", 1, 1, 100000), int_arg("per_page", 20, 1, 100)


def paginated(name: str, list_page) -> dict:
    """Run `list_page(page, per_page) -> (rows, total)` for the request's page and shape the answer."""
    page, per_page = pagination()
    rows, total = list_page(page, per_page)
    return {name: rows, "page": page, "per_page": per_page, "total": total, "has_more": page * per_page < total}
