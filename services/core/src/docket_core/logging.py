"""JSON-lines logging on stdout, with request and trace ids, and secrets scrubbed."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
import sys
from typing import Any

import msgspec

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# (request id, trace id, span id) of the request's SERVER span, recorded when that span starts (see
# docket_core.telemetry), so lines logged after it has ended, such as the access line that the
# outermost middleware writes, still name their trace.
request_trace_var: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar(
    "request_trace", default=None
)

_SECRET_KEYS = re.compile(r"(authorization|password|passwd|secret|token|cookie|api[_-]?key|dsn)", re.I)
_SECRET_PATTERNS = [
    # Bearer credentials, JWTs and key=value secrets that slipped into a message string
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [REDACTED]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[REDACTED-JWT]"),
    (
        re.compile(
            r"(?i)\b(password|passwd|token|secret|cookie|set-cookie|authorization)(\s*[=:]\s*)[^\s,;&]+"
        ),
        r"\1\2[REDACTED]",
    ),
    (re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+@"), r"\1[REDACTED]@"),
]
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def redact_text(text: str) -> str:
    """Remove credentials from free text."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    """Drop the value of secret-looking keys, and scrub strings and nested mappings."""
    if _SECRET_KEYS.search(key):
        return "[REDACTED]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    return value


# A record with this attribute set holds its finished JSON line as its message (the access log).
PREFORMATTED = "docket_preformatted"


def trace_ids() -> tuple[str | None, str | None]:
    """The trace and span ids to log now: the current span's, else the request's SERVER span's."""
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    recorded = request_trace_var.get()
    if recorded is not None and recorded[0] == request_id_var.get():
        return recorded[1], recorded[2]
    return None, None


class JsonFormatter(logging.Formatter):
    """Formats each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, PREFORMATTED, False):
            return str(record.msg)
        trace_id, span_id = trace_ids()
        payload: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact_text(record.getMessage()),
            "request_id": request_id_var.get(),
            "trace_id": trace_id,
            "span_id": span_id,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and key not in payload:
                payload[key] = redact_value(key, value)
        if record.exc_info:
            payload["exc"] = redact_text(self.formatException(record.exc_info))
        return msgspec.json.encode(payload, enc_hook=str).decode()


def configure_logging(level: str = "INFO", service: str = "docket") -> None:
    """Send every logger, including uvicorn's, to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "granian"):
        log = logging.getLogger(name)
        log.handlers[:] = []
        log.propagate = True
    # the access log repeats what our request log says, with query strings that may hold tokens
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("docket").info("logging configured", extra={"service": service})
