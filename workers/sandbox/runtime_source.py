"""Hooklet's JS runtime as the source one isolate evaluates: the files of
``js/`` joined in name order into one function that returns the host's
handle (``control``, js/90_control.js), so nothing of it is a global.

A new runtime file takes its place by its name (``NN_name.js``). core-js's
URL/URLSearchParams (vendored from npm, js/vendor/README.md) rides along as
a string the runtime compiles on first use (``urlPolyfillSource``). Read at
import, so no isolate pays for it; ``isolate.py`` evaluates it."""

from __future__ import annotations

from importlib import resources

import orjson

__all__ = ["RUNTIME_JS"]

_JS = resources.files("workers.sandbox").joinpath("js")
_URL_POLYFILL_JS = _JS.joinpath("vendor", "core-js-url-3.6.4.min.js").read_text("utf-8")
RUNTIME_JS = (
    "(function () {\n"
    + "\n".join(
        f.read_text("utf-8")
        for f in sorted(_JS.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".js")
    )
    + "\nfunction urlPolyfillSource() { return "
    + orjson.dumps(_URL_POLYFILL_JS).decode()
    + "; }\n})()"
)
