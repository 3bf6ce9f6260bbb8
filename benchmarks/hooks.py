"""The scripts and request bodies the benchmarks send, in one place so
scenarios never import each other for them."""

from __future__ import annotations

import json

__all__ = ["ECHO", "REALISTIC", "SUMMARY", "TRIVIAL", "realistic_body"]

TRIVIAL = "(async () => ({ body: 'ok' }))();"
ECHO = "(async () => ({ headers: {'content-type': 'application/json'}, body: context.body }))();"
# A transform of a GitHub push: the result differs from the request (what most hooks return).
SUMMARY = """(async () => {
  const push = JSON.parse(String.fromCharCode(...context.body));
  return { body: { ref: push.ref, after: push.after, commits: push.commits.length } };
})();"""
REALISTIC = """(async () => {
  const order = JSON.parse(new TextDecoder().decode(new Uint8Array(context.body)));
  const lines = order.items.filter((i) => i.qty > 0).map((i) => ({
    sku: i.sku.toUpperCase(), total: Math.round(i.price * i.qty * 100) / 100 }));
  return { statusCode: 200, body: { id: order.id, customer: order.customer.name,
    lines, total: lines.reduce((s, l) => s + l.total, 0) } };
})();"""


def realistic_body() -> bytes:
    """An order of 40 lines, about 5 KB of JSON (``REALISTIC``'s input)."""
    items = [
        {"sku": f"sku-{i:04d}", "price": 9.99 + i, "qty": i % 4, "note": "x" * 40}
        for i in range(40)
    ]
    body = json.dumps(
        {"id": "o-1", "customer": {"name": "Ada", "email": "ada@example.com"}, "items": items}
    ).encode()
    return body[:5120] if len(body) > 5120 else body
