"""The API's one error model and one error base class, mapped to responses by one set of handlers.

Every error answer is `{"detail": "<what went wrong and what to do>", "errors": [...]?}`; routes raise an
`ApiError` subclass and never build error responses by hand. `document_errors` writes the same model into
the OpenAPI document for every status a route can answer, so generated clients know all of them.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("invoicer.api")

DATABASE_RETRY_SECONDS = 2


class ErrorItem(BaseModel):
    """One problem with one part of the request."""

    loc: list[str | int]
    msg: str
    type: str | None = None


class ErrorBody(BaseModel):
    """Every error answer: a sentence for a person, and for validation errors the individual problems."""

    detail: str
    errors: list[ErrorItem] | None = None


class ApiError(Exception):
    """An answer other than success. Subclasses fix the status; `detail` is shown to the person."""

    status_code: int = 400

    def __init__(
        self, detail: str, *, headers: dict[str, str] | None = None, errors: list[ErrorItem] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401

    def __init__(self, detail: str, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class UnsupportedMediaType(ApiError):
    status_code = 415


class Unprocessable(ApiError):
    status_code = 422


class TooManyRequests(ApiError):
    status_code = 429

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers["Retry-After"] = str(retry_after)


class ServiceUnavailable(ApiError):
    status_code = 503

    def __init__(self, detail: str, *, retry_after: int = DATABASE_RETRY_SECONDS, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers["Retry-After"] = str(retry_after)


DATABASE_UNREACHABLE = "The database is unreachable; try again in a few seconds"

DESCRIPTIONS = {
    400: "The body cannot be parsed (not JSON, or malformed multipart or form data)",
    401: "Missing, invalid or expired access token, or wrong credentials",
    403: "Authenticated, but not allowed to do this",
    404: "Not found, or not visible to you",
    405: "The path exists, but not with this method (see the Allow header)",
    409: "Conflicts with what is stored",
    413: "The request body or file is over the size limit",
    415: "The bytes are not a type this route accepts",
    422: "The request breaks a rule; `detail` states it, `errors` lists each problem",
    429: "Too many attempts; wait the seconds in Retry-After",
    503: "The database is unreachable; retry after the seconds in Retry-After",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: these statuses answer with the error model."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses}


def _response(status: int, detail: str, headers: dict[str, str] | None = None,
              errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # FastAPI's default echoes each bad `input`, which for an upload is the whole base64 file.
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "invalid")), "type": error.get("type")}
        for error in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error, ours, FastAPI's and Starlette's, with the one error model."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        errors = [e.model_dump() for e in exc.errors] if exc.errors is not None else None
        return _response(exc.status_code, exc.detail, exc.headers, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this path; see /docs for the API's routes"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; the answer names all of them.
            allowed = ", ".join(sorted(allowed_methods(request.app, request.url.path))) or headers.get("Allow", "")
            headers["Allow"] = allowed
            detail = f"This path does not take {request.method}; it takes {allowed}"
        return _response(exc.status_code, detail, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        summary = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in errors)
        return _response(422, summary or "The request is not valid", errors=errors)

    async def database_unreachable(request: Request, exc: Exception) -> JSONResponse:
        # The driver's message names hosts, ports and timeouts: logged, never answered.
        log.warning("database unreachable during %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return _response(503, DATABASE_UNREACHABLE, {"Retry-After": str(DATABASE_RETRY_SECONDS)})

    # ServerSelectionTimeoutError, AutoReconnect and NetworkTimeout are all ConnectionFailures.
    app.add_exception_handler(ConnectionFailure, database_unreachable)
    app.add_exception_handler(ServerSelectionTimeoutError, database_unreachable)


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """Every method some route serves at `path`."""
    from fastapi.routing import iter_route_contexts

    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        # Routes left out of the document (the web app's catch-all for its client routes) are not the API's.
        if not getattr(route, "include_in_schema", True):
            continue
        if regex is not None and route_methods and regex.match(path):
            methods |= set(route_methods)
    return methods


# --- The OpenAPI side: every status a route can answer, with the error model. ---

ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _statuses_for(path: str, operation: dict[str, Any]) -> set[int]:
    """The statuses that follow from an operation's shape: auth, parameters, a body, the database."""
    statuses: set[int] = {503} if path.startswith("/api/v1/") else set()
    if "security" in operation:
        statuses.add(401)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {400, 413}  # a body that cannot be parsed at all; one over the size limit
    return statuses


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Write the statuses every operation can answer into `schema` (FastAPI's OpenAPI dict), all with ErrorBody.

    Route-specific statuses (403, 404, 409, 415, 429) are declared on the routes with `error_responses`;
    the ones that follow from the operation's shape (auth, parameters, body) are added here, so none is
    forgotten. FastAPI's own validation-error schema (`detail` an array) is replaced: the API never answers it.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in body_schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components["ErrorBody"] = body_schema
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)

    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            declared = {int(s) for s in responses if str(s).isdigit() and int(s) >= 400}
            for status in sorted(_statuses_for(path, operation) | declared):
                own = responses.get(str(status), {}).get("description")
                description = own if own and own not in ("Validation Error", "Successful Response") else None
                headers = _headers(status)
                responses[str(status)] = {
                    "description": description or DESCRIPTIONS.get(status, "Error"),
                    "content": {"application/json": {"schema": ERROR_SCHEMA_REF}},
                    **({"headers": headers} if headers else {}),
                }
    return schema


def _headers(status: int) -> dict[str, Any]:
    if status in (429, 503):
        return {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}
    if status == 401:
        return {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}
    return {}
