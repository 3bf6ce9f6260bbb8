"""Hook validation (``validate_hook``): each field's 422 message, and what a
valid definition becomes. Syntax checks start V8 in the test process."""

from __future__ import annotations

import pytest

from workers.errors import InvalidHook
from workers.hook_validation import validate_hook
from workers.settings import Settings

SETTINGS = Settings(callback_allowlist=("127.0.0.1",))
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def refusal(definition: object, hook_id: str = "h") -> str:
    with pytest.raises(InvalidHook) as raised:
        validate_hook(hook_id, definition, SETTINGS)
    assert raised.value.status == 422 and raised.value.code == "invalid_hook"
    assert raised.value.message.startswith(raised.value.field + ": ")
    return raised.value.message


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ([], "body: must be a JSON object"),
        ({"colour": "blue", "size": 1}, "body: unknown field(s) colour, size"),
        ({"id": "other"}, "id: does not match the URL"),
        ({"script": 42}, "script: must be a string"),
        ({"script": "x" * (256 * 1024 + 1)}, "script: is over 256 KiB"),
        ({"mode": "sometimes"}, "mode: must be one of sync, async"),
        ({"methods": "GET"}, "methods: must be a list"),
        ({"methods": ["get", "FETCH", "BREW"]}, "methods: unknown method(s) FETCH, BREW"),
        ({"isolation": "cold"}, "isolation: must be one of warm, fresh"),
        ({"enabled": "yes"}, "enabled: must be true or false"),
        ({"secrets": ["a"]}, "secrets: must be an object of strings"),
        ({"secrets": {"k": 1}}, "secrets.k: must be a string"),
        ({"callbackUrl": "ftp://example.com"}, "callbackUrl: must be an http(s) URL"),
        ({"idempotencyHeader": 7}, "idempotencyHeader: must be a header name"),
        ({"limits": []}, "limits: must be an object"),
        ({"limits": {"cpu": 1}}, "limits: unknown field(s) cpu"),
        ({"limits": {"timeoutMs": 10_000_000}}, "limits.timeoutMs: must be between 1 and 60000"),
        ({"limits": {"timeoutMs": "1s"}}, "limits.timeoutMs: must be an integer"),
        ({"limits": {"heapMb": 0}}, "limits.heapMb: must be between 2 and 128"),
        ({"limits": {"waitMs": -1}}, "limits.waitMs: must be between 0 and 60000"),
        ({"limits": {"maxConcurrent": True}}, "limits.maxConcurrent: must be an integer"),
        ({"requestsToTrack": 1001}, "requestsToTrack: must be between 0 and 1000"),
        ({"response": "ok"}, "response: must be an object"),
        ({"response": {"status": 200}}, "response: unknown field(s) status"),
        ({"response": {"statusCode": 1000}}, "response.statusCode: must be between 200 and 599"),
        ({"response": {"headers": []}}, "response.headers: must be an object"),
        ({"response": {"headers": {"x-n": 1}}}, "response.headers.x-n: must be a string"),
        ({"verify": "github"}, "verify: must be an object"),
        ({"verify": {"scheme": "md5", "secret": "x"}}, "verify.scheme: must be one of"),
        ({"verify": {"scheme": "github"}}, "verify.secret: is required"),
        (
            {"verify": {"scheme": "standard-webhooks", "secret": "not base64!"}},
            "verify.secret: is not a Standard Webhooks secret",
        ),
        (
            {"verify": {"scheme": "github", "secret": "s", "toleranceS": 0}},
            "verify.toleranceS: must be an integer between 1 and 86400",
        ),
        ({"verify": {"scheme": "github", "secret": "s", "extra": 1}}, "verify: unknown field(s)"),
    ],
)
def test_each_field_is_named_in_its_refusal(definition: object, message: str) -> None:
    assert refusal(definition).startswith(message)


@pytest.mark.parametrize("hook_id", ["Caps", "-lead", "trail-", "a b", "x" * 65, ""])
def test_the_id_must_be_a_slug(hook_id: str) -> None:
    assert refusal({}, hook_id).startswith("id: must be a slug")


def test_a_script_that_does_not_compile_names_its_line() -> None:
    message = refusal({"script": "let a = 1;\nlet b = ;"})
    assert message.startswith("script: ") and "line 2" in message


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/hook", "http://169.254.169.254/latest", "http://[::1]:8080/"]
)
def test_a_callback_to_an_internal_address_is_refused(url: str) -> None:
    message = refusal({"callbackUrl": url})
    assert message.startswith("callbackUrl: ") and "URL not allowed: " in message


def test_a_valid_definition_becomes_a_hook_with_defaults() -> None:
    hook = validate_hook(
        "orders_v2",
        {
            "script": "return { body: 1 };",  # the older function-body form compiles too
            "methods": ["post", "POST", "put"],
            "idempotencyHeader": "X-GitHub-Delivery",
            "callbackUrl": "http://127.0.0.1:9000/cb",  # allowlisted
            "verify": {"scheme": "standard-webhooks", "secret": SW_SECRET},
            "version": 7,  # read-only fields echoed back from GET are ignored
        },
        SETTINGS,
    )
    assert hook.id == "orders_v2" and hook.mode == "async" and hook.isolation == "warm"
    assert hook.methods == ("POST", "PUT") and hook.enabled is True
    assert hook.idempotency_header == "x-github-delivery"
    assert hook.verify == {"scheme": "standard-webhooks", "secret": SW_SECRET, "toleranceS": 300}
    assert hook.limits.timeout_ms == SETTINGS.default_timeout_ms
    assert hook.requests_to_track == SETTINGS.default_requests_to_track
    assert hook.response == {} and hook.secrets == {}


def test_a_hook_without_a_script_is_a_static_responder() -> None:
    hook = validate_hook("static", {"response": {"statusCode": 204}}, SETTINGS)
    assert hook.script is None and hook.response == {"statusCode": 204}
