"""Scripts in the style of secutils.dev's documentation run unchanged.
(The older function-body form and a null result falling back to the static
response are checked once, in tests/workers/test_sandbox.py.)"""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.stack import Api

pytestmark = pytest.mark.stack


def responder(api: Api, hook_id: str, script: str, **extra) -> None:
    api.put_hook(hook_id, mode="sync", script=script, **extra)


def test_override_status_headers_and_body(api: Api, hook_id: str) -> None:
    responder(
        api,
        hook_id,
        """(async () => {
  return {
    // Override response status code.
    statusCode: 201,
    // Inject custom headers.
    headers: { "Content-Type": "application/json" },
    // Override response body with the request's body.
    body: Deno.core.encode(JSON.stringify({ echo: Deno.core.decode(new Uint8Array(context.body)) }))
  };
})();""",
    )
    response = api.send(hook_id, data="héllo".encode())
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"echo": "héllo"}


def test_render_headers_and_query_as_html(api: Api, hook_id: str) -> None:
    responder(
        api,
        hook_id,
        """(async () => {
  const headers = Object.entries(context.headers)
    .map(([name, value]) => `<tr><td>${name}</td><td>${value}</td></tr>`).join("");
  const query = Object.entries(context.query)
    .map(([name, value]) => `<li>${name} = ${value}</li>`).join("");
  return {
    headers: { "Content-Type": "text/html; charset=utf-8" },
    body: Deno.core.encode(`<!DOCTYPE html><html><body>
      <h1>${context.method} ${context.path}</h1><table>${headers}</table><ul>${query}</ul>
    </body></html>`)
  };
})();""",
    )
    response = api.send(
        hook_id, "/page", method="GET", params={"q": "cats"}, headers={"X-Custom": "abc"}
    )
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>GET /page</h1>" in response.text
    assert "<tr><td>x-custom</td><td>abc</td></tr>" in response.text
    assert "<li>q = cats</li>" in response.text


def test_echo_query_arguments_as_json(api: Api, hook_id: str) -> None:
    responder(
        api,
        hook_id,
        """(async () => {
  return {
    headers: { "Content-Type": "application/json" },
    body: Deno.core.encode(JSON.stringify(context.query ?? {}))
  };
})();""",
    )
    response = api.send(hook_id, method="GET", params={"arg": "1", "other": "two"})
    assert response.json() == {"arg": "1", "other": "two"}


def test_basic_auth_gate(api: Api, hook_id: str) -> None:
    responder(
        api,
        hook_id,
        """(async () => {
  const auth = context.headers["authorization"] ?? "";
  const expected = "Basic " + btoa(`${context.secrets.user}:${context.secrets.password}`);
  if (auth !== expected) {
    return {
      statusCode: 401,
      headers: { "WWW-Authenticate": 'Basic realm="secret area"' },
      body: Deno.core.encode("Unauthorized")
    };
  }
  return { body: Deno.core.encode("Welcome!") };
})();""",
        secrets={"user": "ada", "password": "lovelace"},
    )
    denied = api.send(hook_id, method="GET")
    assert denied.status_code == 401
    assert denied.headers["www-authenticate"] == 'Basic realm="secret area"'
    allowed = api.send(hook_id, method="GET", auth=("ada", "lovelace"))
    assert (allowed.status_code, allowed.text) == (200, "Welcome!")
    assert api.send(hook_id, method="GET", auth=("ada", "wrong")).status_code == 401


def test_parse_json_body_and_compute(api: Api, hook_id: str) -> None:
    responder(
        api,
        hook_id,
        """(async () => {
  const order = JSON.parse(Deno.core.decode(new Uint8Array(context.body)));
  const total = order.items.reduce((sum, item) => sum + item.price * item.qty, 0);
  return {
    headers: { "Content-Type": "application/json" },
    body: Deno.core.encode(JSON.stringify({ id: order.id, total }))
  };
})();""",
    )
    order = {"id": "o-1", "items": [{"price": 2.5, "qty": 2}, {"price": 10, "qty": 1}]}
    assert api.send(hook_id, json=order).json() == {"id": "o-1", "total": 15}


def test_binary_image_response(api: Api, hook_id: str) -> None:
    # A 1x1 transparent GIF, the classic tracking pixel.
    pixel = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
    responder(
        api,
        hook_id,
        """(async () => {
  const gif = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
  return {
    headers: { "Content-Type": "image/gif" },
    body: Uint8Array.from(atob(gif), (c) => c.charCodeAt(0))
  };
})();""",
    )
    response = api.send(hook_id, method="GET")
    assert response.headers["content-type"] == "image/gif"
    assert response.content == pixel


def test_json_body_shorthand(api: Api, hook_id: str) -> None:
    responder(api, hook_id, "(async () => ({ body: { ok: true } }))();")
    assert json.loads(api.send(hook_id).content) == {"ok": True}
