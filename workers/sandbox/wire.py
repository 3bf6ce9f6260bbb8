"""Reading the JSON the runtime hands the host, whatever the script put in it.

V8's ``JSON.stringify`` is well-formed (ES2019): a string holding an unpaired
UTF-16 surrogate, such as a sender's ``{"sender": "\\ud800"}`` parsed by the
script, comes out as the escape ``\\ud800``. That is valid JSON text, but no
Unicode scalar value, and orjson refuses it (``no low surrogate in string``);
so did the host, which left the run to be retried as a crashed child. Here a
lone surrogate escape becomes U+FFFD, as Rust's lossy conversion does in
secutils (and as the runtime's own UTF-8 encoder does); a pair stays a pair.
The rewrite runs only when orjson has refused the text, so a normal run pays
nothing for it. Anything still unreadable (nesting past orjson's 1024
levels, say) raises ``UnreadableOutput``, which fails the run as ``error``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["UnreadableOutput", "read_json", "well_formed_json"]

# Scanning left to right, an escaped backslash is consumed whole, so a
# ``\\ud800`` that is a literal backslash then "ud800" is never taken for an
# escape; a high surrogate followed by a low one is a pair, kept.
_ESCAPES = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")
_REPLACEMENT = "\\ufffd"


class UnreadableOutput(ValueError):
    """The runtime's JSON could not be read even after repair."""


def _repair(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        return _REPLACEMENT if len(found) == 6 else found  # a lone one

    return _ESCAPES.sub(one, text)


def read_json(raw: str | bytes) -> Any:
    """``raw`` parsed, each lone surrogate read as U+FFFD."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as first:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            return orjson.loads(_repair(text).encode("utf-8", "replace"))
        except orjson.JSONDecodeError:
            raise UnreadableOutput(str(first)) from first


def well_formed_json(data: bytes) -> bytes:
    """A JSON body as the script's ``JSON.stringify`` wrote it, with each
    lone surrogate escape replaced by ``\\ufffd`` (so a strict parser reads
    it); unchanged when it has none."""
    if _SURROGATE_HINT.search(data) is None:
        return data
    return _repair(data.decode("utf-8", "replace")).encode("utf-8")
