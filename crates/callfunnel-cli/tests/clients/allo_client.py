#!/usr/bin/env python3
"""A small Allo API client written with `requests`, the way teams write them.

The `serve` integration tests run it against `callfunnel serve`:

    python3 allo_client.py BASE_URL API_KEY

It loads the key's capabilities, the outbound metrics of a fortnight, every
page of the conversations search, and checks two refusals; it prints a JSON
summary on stdout and exits non-zero on any unexpected answer.
"""

import json
import sys

import requests


def main():
    base, key = sys.argv[1], sys.argv[2]
    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {key}"

    me = session.get(f"{base}/v2/api/me", timeout=60)
    me.raise_for_status()
    assert "CONVERSATIONS_READ" in me.json()["data"]["scopes"]

    request = {
        "date": {"from": "2024-03-04", "to": "2024-03-17"},
        "tags": ["demo_booked"],
        "granularity": "DAY",
        "timezone": "Europe/Paris",
    }
    outbound = session.post(f"{base}/v2/api/analytics/outbound", json=request, timeout=120)
    outbound.raise_for_status()
    dials = outbound.json()["data"]["funnel"]["dials"]["count"]["value"]

    items, page = 0, 1
    while True:
        answer = session.post(
            f"{base}/v2/api/conversations/items/search",
            json={"page": page, "size": 100, "sort": "DATE_DESC"},
            timeout=60,
        )
        answer.raise_for_status()
        body = answer.json()
        items += len(body["data"])
        if not body["pagination"]["has_more"]:
            break
        page += 1

    bearer = requests.get(
        f"{base}/v2/api/me", headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    assert bearer.status_code == 401, bearer.status_code
    missing = session.get(f"{base}/v2/api/conversations/items/cll-does-not-exist", timeout=60)
    assert missing.status_code == 404, missing.status_code

    print(
        json.dumps(
            {
                "dials": dials,
                "items": items,
                "bearer_code": bearer.json()["error"]["code"],
                "missing_code": missing.json()["error"]["code"],
            }
        )
    )


if __name__ == "__main__":
    main()
