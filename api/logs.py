"""Log lines: one JSON object per line (or plain text for a developer), each with the request
id of the request it belongs to, and nothing secret in clear.

The standard library's logging with a small formatter: no library adds anything here that
forty lines do not (README, "Library choices"). Uvicorn applies `logging_config()` in every
worker it starts (`greenledger serve`), so the API workers, the sealer and the projector all
write the same lines to stderr, for journald or a container runtime to collect.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

# The id of the request being answered, for every line logged while it is (api/observability.py).
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "greenledger_request_id", default=None
)

FORMATS = ("json", "text")

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
)
# Extra fields whose value is never written, whatever it is.
_SECRET_FIELDS = frozenset(
    {"password", "pin", "token", "authorization", "cookie", "phone", "secret", "access_token"}
)
# Fields the request wrapper writes from the app's own values (a route template such as
# `/q/{token:str}` is not a token).
_OWN_FIELDS = frozenset({"route", "method", "status", "role", "outcome", "step", "user_id"})
_KEYS = ("password", "passwd", "pin", "token", "secret", "phone")
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
# Each pattern, its replacement, and what an ASCII text must hold for the pattern to match
# (checked first: most log lines hold none of it, and the patterns cost far more).
_REDACTIONS: tuple[tuple[re.Pattern[str], str, Callable[[str], bool]], ...] = (
    # a JWT (the API's bearer tokens and the sign-in cookie)
    (
        re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
        "[token]",
        lambda text: "eyJ" in text,
    ),
    # any bearer credential (the metrics token too)
    (
        re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"),
        r"\1 [token]",
        lambda text: "bearer" in text.lower(),
    ),
    # `password=…`, `"pin": "…"`, `token: …`
    (
        re.compile(
            r"(?i)\b(password|passwd|pin|token|secret|phone)(\"?\s*[:=]\s*\"?)[^\s\"'&,;}]+"
        ),
        r"\1\2[redacted]",
        lambda text: any(key in text.lower() for key in _KEYS),
    ),
    # a mainland China mobile number, with or without +86 (eleven digits in a row)
    (
        re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d{9}(?!\d)"),
        "[phone]",
        lambda text: _ELEVEN_DIGITS.search(text) is not None,
    ),
)


# One line per request: msgspec's encoder takes a tenth of json's time. UTF-8 as it is; what it
# cannot encode is written as its str().
_ENCODER = msgspec.json.Encoder(enc_hook=str)


def redact(text: str) -> str:
    # The hints are exact for ASCII text only: a case-insensitive pattern also matches, say,
    # the Kelvin sign for `k`, and `\d` any script's digits. Other text meets every pattern.
    ascii_only = text.isascii()
    for pattern, replacement, could_match in _REDACTIONS:
        if not ascii_only or could_match(text):
            text = pattern.sub(replacement, text)
    return text


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The request id and the record's `extra=` fields, secrets masked."""
    fields: dict[str, Any] = {}
    request_id = REQUEST_ID.get()
    if request_id is not None:
        fields["request_id"] = request_id
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_"):
            continue
        if key.lower() in _SECRET_FIELDS:
            fields[key] = "[redacted]"
        elif key in _OWN_FIELDS:
            fields[key] = value
        else:
            fields[key] = redact(value) if isinstance(value, str) else value
    return fields


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id"?, ...extra, "error"?}` per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        line |= _fields(record)
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return _ENCODER.encode(line).decode()


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...`, for a developer's terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = redact(super().format(record))
        fields = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        return f"{text} {fields}" if fields else text


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """For logging.config.dictConfig (uvicorn's `log_config`): everything to stderr."""
    assert log_format in FORMATS
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"greenledger": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "greenledger",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own loggers carry handlers of their own by default: theirs go to ours.
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
