"""Step 11 item 6: no personal data in the access log. A phone, an ID number or a plate sent
in a URL (a search, an Open311 filter) reached uvicorn's access lines whole; the log filter
masks them with the hub's one detector (``hub.policy.free_text.scrub``), in a real uvicorn."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote_plus

import httpx

from tests.auth_helpers import bearer, fetch_token, register_client
from tests.live_server import served
from tests.security.small_hub import access_log, small_app

PHONE = "13955556666"
ID_NUMBER = "120101199003077776"
PLATE = "津A12345"


def test_personal_data_in_a_url_is_masked_in_the_access_log(tmp_path: Path) -> None:
    app = small_app(tmp_path)
    with served(app) as base, httpx.Client(base_url=base) as http, access_log() as logged:
        client_id, secret = register_client(app, "log-app")
        auth = bearer(fetch_token(http, client_id, secret))
        query = "query($q: String!) { search(query: $q) { totalCount } }"
        typed = f"电话{PHONE} 身份证{ID_NUMBER} 车牌{PLATE}"
        asked = http.get(
            "/graphql", params={"query": query, "variables": f'{{"q": "{typed}"}}'}, headers=auth
        )
        assert asked.status_code == 200, asked.text
        listed = http.get(
            "/open311/v2/requests.json", params={"search": PHONE, "page_size": "5"}, headers=auth
        )
        assert listed.status_code < 500
    lines = logged.getvalue()
    assert "/graphql" in lines and "/open311/v2/requests.json" in lines
    decoded = unquote_plus(lines)
    for value in (PHONE, ID_NUMBER, PLATE):
        assert value not in lines and value not in decoded, f"{value} logged"
    assert "139****6666" in decoded and "120101********7776" in decoded and "津A****5" in decoded
    assert "page_size=5" in lines  # other parameters as sent
