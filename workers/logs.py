"""Structured logs: one JSON object per line for machines, readable text in a
terminal. Fields passed with ``extra=`` (job id, hook, status, ...) become
keys of the JSON line; with tracing on, a line written inside a span also
carries its ``trace_id`` and ``span_id``."""

from __future__ import annotations

import logging
import sys
import time

import orjson

from workers.tracing import log_ids

__all__ = ["configure_logging"]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        ids = log_ids()  # None unless tracing is on and a span is current
        if ids is not None:
            line["trace_id"], line["span_id"] = ids
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        fields = " ".join(f"{k}={v}" for k, v in extra.items() if v is not None)
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        return (
            f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()} {fields}".rstrip()
        )


def configure_logging(as_json: bool | None = None) -> None:
    """Send ``hooklet.*`` logs to stderr: JSON unless stderr is a terminal."""
    logger = logging.getLogger("hooklet")
    if getattr(logger, "_hooklet_configured", False):
        return
    if as_json is None:
        as_json = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger._hooklet_configured = True  # type: ignore[attr-defined]
