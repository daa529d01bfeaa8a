"""Mutes over HTTP: writers mute and cancel, readers list; the incident says which mute covers it."""

from __future__ import annotations

import httpx


def test_mute_list_show_cancel(api_server_token: tuple[str, str]) -> None:
    """POST /mutes (token) covers INC-1's signature; GET /incidents/INC-1 names it; cancel ends it."""
    base, token = api_server_token
    auth = {"Authorization": f"Bearer {token}"}
    body = {"kind": "signature", "target": "MISSING_FIELD:customer_id", "duration": "2h", "reason": "fix rolling",
            "by": "alice"}
    assert httpx.post(f"{base}/api/v1/mutes", json=body, timeout=10).status_code == 401
    made = httpx.post(f"{base}/api/v1/mutes", json=body, headers=auth, timeout=10)
    assert made.status_code == 201, made.text
    mute = made.json()
    assert mute["mute_id"].startswith("mute-")
    assert [m["mute_id"] for m in httpx.get(f"{base}/api/v1/mutes", timeout=10).json()] == [mute["mute_id"]]
    shown = httpx.get(f"{base}/api/v1/incidents/INC-1", timeout=10).json()
    assert shown["muted_by"]["mute_id"] == mute["mute_id"]
    listed = httpx.get(f"{base}/api/v1/incidents", timeout=10).json()
    assert listed[0]["muted_by"]["reason"] == "fix rolling"

    ended = httpx.post(f"{base}/api/v1/mutes/{mute['mute_id']}/cancel", json={"by": "bob"}, headers=auth, timeout=10)
    assert ended.json()["cancelled_by"] == "bob"
    assert httpx.get(f"{base}/api/v1/incidents/INC-1", timeout=10).json()["muted_by"] is None
    assert httpx.get(f"{base}/api/v1/mutes", timeout=10).json() == []
    assert len(httpx.get(f"{base}/api/v1/mutes", params={"all": "true"}, timeout=10).json()) == 1


def test_bad_mutes_are_400_or_422_with_the_reason(api_server_token: tuple[str, str]) -> None:
    """A duration over 30 days or of the wrong form, and an unknown mute id, are refused with the reason."""
    base, token = api_server_token
    auth = {"Authorization": f"Bearer {token}"}
    long = {"kind": "dataset", "target": "urn:dp:orders:created", "duration": "40d", "reason": "r", "by": "a"}
    r = httpx.post(f"{base}/api/v1/mutes", json=long, headers=auth, timeout=10)
    assert r.status_code == 400
    assert "30 days" in r.json()["detail"]
    r = httpx.post(f"{base}/api/v1/mutes", json={**long, "duration": "soon"}, headers=auth, timeout=10)
    assert r.status_code == 422
    r = httpx.post(f"{base}/api/v1/mutes/mute-nope/cancel", json={"by": "a"}, headers=auth, timeout=10)
    assert r.status_code == 404
