"""The request-parsing layer: strict JSON in and out, pydantic errors as our 400s.

Every JSON body goes through StrictJSONProvider.loads, so hostile input is refused once, here, before any
endpoint sees it: lone surrogates (they cannot be encoded to UTF-8, so they blow up later in Redis,
logging or the response), NaN/Infinity and numbers that overflow to them (a response containing them is
not JSON), and nesting deeper than MAX_JSON_DEPTH (json's C parser recurses; past ~1000 levels it raises
RecursionError, which is not a ValueError and would be a 500).
"""
from __future__ import annotations

import json
import math
import re

from flask import Request, request
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ValidationError

from app.api.errors import ApiError

MAX_JSON_DEPTH = 64
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _check_tree(value) -> None:
    """Iterative, so a deep document cannot exhaust the stack here either."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                raise ValueError("a string holds a lone surrogate (not valid Unicode)")
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def strict_loads(data: str | bytes):
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    _check_tree(value)
    return value


class StrictJSONProvider(DefaultJSONProvider):
    ensure_ascii = False

    def loads(self, s: str | bytes, **kwargs):
        return strict_loads(s)

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("allow_nan", False)      # a response is always RFC 8259 JSON, or it is an error
        return super().dumps(obj, **kwargs)


class ApiRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None):
        if e is None:
            raise ApiError(415, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {e}")


def json_object(empty_is_object: bool = False) -> dict:
    """The request's JSON object body; with empty_is_object, no body at all counts as {}."""
    if empty_is_object and not request.get_data(cache=True):
        return {}
    body = request.get_json()       # ApiRequest: another media type is our 415, a parse failure our 400
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body


def invalid_input(exc: ValidationError, model: type[BaseModel]) -> ApiError:
    """The first problem pydantic found, under the code the model gives that field."""
    first = exc.errors(include_url=False)[0]
    loc = first["loc"]
    codes = getattr(model, "error_codes", {})
    code = codes.get(loc[0] if loc else None, codes.get("*", "invalid_parameter"))     # "*": every other field
    where = ".".join(str(part) for part in loc)
    message = first["msg"].removeprefix("Value error, ")
    return ApiError(400, code, f"{where}: {message}" if where else message)


def paginated(name: str, list_page, page: int, per_page: int) -> dict:
    """Run `list_page(page, per_page) -> (rows, total)` and shape the answer."""
    rows, total = list_page(page, per_page)
    return {name: rows, "page": page, "per_page": per_page, "total": total, "has_more": page * per_page < total}

