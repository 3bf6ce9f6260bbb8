"""What ``POST /api/hooks/<id>/draft/try`` refuses before running anything
(issue 25 item 3): more than 500 ids or a limit outside 1-500 is a 400 that
names the field, as the docs say."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.fast import assert_error, put_hook

Admin = dict[str, str]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filter": {}, "limit": 501}, "limit"),
        ({"filter": {}, "limit": 0}, "limit"),
        ({"filter": {}, "limit": "20"}, "limit"),
        ({"ids": [f"job-{i}" for i in range(501)]}, "ids"),
        ({"ids": "job-1"}, "ids"),
        ({"filter": []}, "filter"),
    ],
)
def test_a_bad_selection_is_refused_naming_its_field(
    client: FlaskClient, admin: Admin, hook_id: str, body: dict, field: str
) -> None:
    put_hook(client, admin, hook_id, script="({ body: 'live' })")
    saved = client.put(f"/api/hooks/{hook_id}/draft", json={"script": "({ body: 'draft' })"},
                       headers=admin)  # fmt: skip
    assert saved.status_code == 201, saved.text
    response = client.post(f"/api/hooks/{hook_id}/draft/try", json=body, headers=admin)
    error = assert_error(response, 400, "invalid_request")
    assert f'"{field}"' in error["message"] or error["message"].startswith(f"{field}:"), error
