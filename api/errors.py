"""Every error leaves as `{"code", "detail", ...}` with one status per code."""

from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import Empty

from ledger.domain.errors import LedgerError
from ledger.domain.photos import PhotoTooLarge, UnsupportedPhoto
from ledger.domain.rotation import NotAssigned, RotationExceeded
from ledger.store.connections import is_unavailable

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "validation_error": 400,
    "not_found": 404,
    # Receipts (issue 19): not yet sealed, or the entry's day not yet published.
    "not_yet_sealed": 409,
    "day_not_published": 409,
    "idempotency_conflict": 409,
    "insufficient_points": 409,
    "already_reversed": 409,
    "not_reversible": 409,
    "username_taken": 409,
    "duplicate": 409,
    "invalid_credentials": 401,
    "forbidden": 403,
    "out_of_scope": 403,
    "own_record": 403,
    "code_malformed": 422,
    "code_forged": 422,
    "code_revoked": 422,
    "code_wrong_kind": 422,
    "invalid_code": 422,
    "scan_required": 403,
    "outside_window": 422,
    "captured_at_out_of_range": 422,
    "dropoff_expired": 422,
    "wrong_point": 422,
    "already_graded": 409,
    "shift_open": 409,
    "no_open_shift": 409,
    "already_decided": 409,
    "appeal_not_allowed": 409,
    "rule_not_allowed": 422,
    "too_many_minutes": 422,
    "reward_inactive": 409,
    "out_of_stock": 409,
    "limit_reached": 409,
    "nothing_to_settle": 409,
    "rate_limited": 429,
    "sign_in_locked": 429,
    "household_ambiguous": 400,
    "join_refused": 403,
    "phone_taken": 409,
    "household_full": 409,
    RotationExceeded.code: 409,
    NotAssigned.code: 403,
    PhotoTooLarge.code: 413,
    UnsupportedPhoto.code: 415,
}

_CODE_BY_HTTP_STATUS = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "detail": detail, **extra}


def ledger_error_handler(_: Request[Any, Any, Any], exc: LedgerError) -> Response[Any]:
    status = STATUS_BY_CODE.get(exc.code, 400)
    return Response(error_body(exc.code, exc.detail, **exc.extra), status_code=status)


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = [
        p for p in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(p, dict)
    ]
    fields = [_field_of(problem) for problem in problems]
    detail = "; ".join(
        f"{field}: {problem.get('message')}"
        for field, problem in zip(fields, problems, strict=True)
    ) or str(exc.detail)
    body = error_body("validation_error", detail, field=fields[0] if fields else None)
    body["errors"] = problems
    return Response(body, status_code=400)


def _field_of(problem: dict[str, Any]) -> str:
    """msgspec names body fields inside its message (`at $.name`, "field `name`")."""
    message = str(problem.get("message", ""))
    if (match := _BODY_PATH.search(message)) is not None:
        return match.group(1)
    if (match := _MISSING_FIELD.search(message)) is not None:
        return match.group(1)
    return str(problem.get("key"))


_BODY_PATH = re.compile(r"at `\$\.([A-Za-z0-9_.\[\]]+)`")
_MISSING_FIELD = re.compile(r"(?:missing required field|unknown field) `([^`]+)`")


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = _CODE_BY_HTTP_STATUS.get(exc.status_code, f"http_{exc.status_code}")
    detail = str(exc.detail)
    if exc.status_code == 413:
        detail = body_too_large_detail(request)
    return Response(error_body(code, detail), status_code=exc.status_code, headers=exc.headers)


def body_too_large_detail(request: Request[Any, Any, Any]) -> str:
    """Names the limit of the endpoint that refused the body (photos have their own)."""
    handler = request.scope.get("route_handler")
    # Only an HTTP route handler takes a body (and has a limit to name).
    http = handler if isinstance(handler, HTTPRouteHandler) else None
    limit = http.resolve_request_max_body_size() if http is not None else None
    if not limit:
        return "the request body is too large"
    return f"the request body is larger than this endpoint's limit of {limit:,} bytes"


def log_unhandled(request: Request[Any, Any, Any], exc: Exception) -> None:
    if is_unavailable(exc):
        # A restart or failover cuts every connection: one line per failed attempt, not a
        # traceback each; the client sends the same request again.
        log.warning(
            "database unavailable on %s %s event_id=%s: %s: %s",
            request.method,
            request.url.path,
            _event_id(request),
            type(exc).__name__,
            exc,
        )
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log_unhandled(request, exc)
    if is_unavailable(exc):
        # Not a bug of ours and usually over in seconds (a restart, a failover): 503, which
        # proxies and clients know to retry, rather than 500.
        return Response(
            error_body(
                "database_unavailable",
                "the database is unavailable for a moment; the outcome is unknown: send the "
                "same request again with the same event_id, which applies it at most once",
            ),
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    return Response(
        error_body(
            "internal_error",
            "the server failed; the outcome is unknown: send the same request again with the "
            "same event_id, which applies it at most once",
        ),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _event_id(request: Request[Any, Any, Any]) -> str | None:
    """The event_id in the path or the body (JSON or a page's form), if the body was read and
    names one."""
    in_path = request.scope.get("path_params", {}).get("event_id")
    if in_path is not None:
        return str(in_path)
    body = request._connection_state.body  # cached by Litestar once read; never read here
    if not isinstance(body, bytes):
        return None
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        values = urllib.parse.parse_qs(body.decode("latin-1")).get("event_id")
        return values[0][:64] if values else None
    decoded = request._connection_state.json  # the handler's own decoding, if it ran
    if decoded is Empty:
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return None
    value = decoded.get("event_id") if isinstance(decoded, dict) else None
    return str(value)[:64] if value is not None else None


event_id_of = _event_id


def error_code(exc: Exception) -> str:
    """The `code` the handlers below answer `exc` with (the request log and the metrics)."""
    if isinstance(exc, LedgerError):
        return exc.code
    if isinstance(exc, ValidationException):
        return "validation_error"
    if isinstance(exc, HTTPException):
        return _CODE_BY_HTTP_STATUS.get(exc.status_code, f"http_{exc.status_code}")
    if isinstance(exc, UnicodeDecodeError | RecursionError | asyncpg.exceptions.DataError):
        return "validation_error"
    return "database_unavailable" if is_unavailable(exc) else "internal_error"


def unreadable_body_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A body that is not UTF-8, nested past any sense, or holding a value the database
    cannot store, is bad input: 400, and nothing was written."""
    detail = {
        UnicodeDecodeError: "the body is not valid UTF-8",
        RecursionError: "the body is nested too deeply",
    }.get(type(exc), "a value in the body cannot be stored")
    return Response(error_body("validation_error", detail, field="body"), status_code=400)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LedgerError: ledger_error_handler,
    UnicodeDecodeError: unreadable_body_handler,
    RecursionError: unreadable_body_handler,
    asyncpg.exceptions.DataError: unreadable_body_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


class ErrorReply(msgspec.Struct):
    """Every error: a stable snake_case `code`, a human `detail`, and for bad input the `field`."""

    code: str
    detail: str
    field: str | None = None


ERROR_RESPONSES: dict[int, ResponseSpec] = {
    status: ResponseSpec(
        data_container=ErrorReply, description=description, generate_examples=False
    )
    for status, description in (
        (400, "bad input (`validation_error`); `field` names the field"),
        (401, "no valid bearer token (`unauthorized`, `invalid_credentials`)"),
        (403, "outside the caller's role or scope (`forbidden`, `out_of_scope`)"),
        (404, "no such thing (`not_found`)"),
        (
            409,
            "refused by the ledger: `idempotency_conflict`, `insufficient_points`, "
            "`already_graded`, …",
        ),
        (
            422,
            "a code that cannot be used (`code_forged`, `code_revoked`, …), `outside_window`, "
            "`captured_at_out_of_range`, `dropoff_expired`, `wrong_point`",
        ),
        (429, "too many requests (`rate_limited`) or wrong passwords (`sign_in_locked`)"),
        (503, "the database is unavailable for a moment (`database_unavailable`): send again"),
    )
}

PHOTO_ERROR_RESPONSES: dict[int, ResponseSpec] = {
    **ERROR_RESPONSES,
    **{
        status: ResponseSpec(
            data_container=ErrorReply, description=description, generate_examples=False
        )
        for status, description in (
            (413, "the photo is larger than 2 MiB (`body_too_large`; the limit is in `detail`)"),
            (
                415,
                "not a JPEG, PNG or WebP image, or not the declared type "
                "(`unsupported_media_type`)",
            ),
        )
    },
}
