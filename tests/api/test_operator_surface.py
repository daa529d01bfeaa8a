"""What an operator's tools read from `serve`: security headers, offline API docs, /metrics, strict auth."""

from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from signal_factory import __version__
from tests.api.records import failing_orders


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_security_headers_on_ui_api_and_errors(api_server: str) -> None:
    """UI pages, API answers and 404s all carry CSP (own origin only, no framing), nosniff and DENY."""
    for path in ("/", "/incidents/INC-1", "/app.js", "/api/v1/datasets", "/api/v1/nope"):
        r = httpx.get(api_server + path, timeout=10)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp, path
        assert "'unsafe-inline'" not in csp.split("script-src")[1], path
        assert "frame-ancestors 'none'" in csp, path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path


def test_swagger_and_redoc_are_served_from_the_package(api_server: str) -> None:
    """/docs and /redoc name only our own asset URLs, and those assets are served (no CDN: works offline)."""
    for page in ("/docs", "/redoc"):
        html = httpx.get(api_server + page, timeout=10).text
        urls = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', html) + re.findall(r"url: ?'([^']+)'", html)
        assets = [u for u in urls if u.endswith((".js", ".css"))]
        assert assets, page
        for url in urls:
            assert not url.startswith(("http://", "https://", "//")), f"{page} loads {url} from another origin"
        for url in assets:
            r = httpx.get(api_server + url, timeout=10)
            assert r.status_code == 200, url
            assert len(r.content) > 10_000, url


def test_metrics_endpoint_counts_requests_and_ingest(api_server_token: tuple[str, str]) -> None:
    """GET /metrics is Prometheus text: counters at 0 before use, requests by route template, ingest counts,
    process and build info; it is not the UI's HTML."""
    base, token = api_server_token
    first = httpx.get(f"{base}/metrics", timeout=10)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    before = _samples(first.text)
    assert before[("signal_factory_ingested_records_total", (("kind", "records"),))] == 0
    assert before[("signal_factory_errors_total", (("kind", "internal"),))] == 0
    build = [k for k in before if k[0] == "signal_factory_build_info"]
    assert build
    assert ("version", __version__) in build[0][1]
    assert ("component", "serve") in build[0][1]
    assert any(k[0] == "process_resident_memory_bytes" for k in before)

    r = httpx.post(f"{base}/api/v1/records", json=failing_orders(7), timeout=30,
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    httpx.get(f"{base}/api/v1/incidents/INC-1", timeout=10)
    after = _samples(httpx.get(f"{base}/metrics", timeout=10).text)
    assert after[("signal_factory_ingested_records_total", (("kind", "records"),))] == 7
    assert after[("signal_factory_ingested_evidence_total", (("kind", "records"),))] == 7
    route = (("method", "GET"), ("route", "/api/v1/incidents/{incident_id}"), ("status", "200"))
    assert after[("signal_factory_http_requests_total", route)] == 1
    assert not any("INC-1" in str(labels) for _, labels in after)  # route templates, never raw ids


def test_token_is_compared_exactly(api_server_token: tuple[str, str]) -> None:
    """A token with extra whitespace or another case is not the token (no trimming, no case folding)."""
    base, token = api_server_token
    for given in (f"Bearer  {token}", f"Bearer {token.upper()}", f"Bearer {token}x"):
        r = httpx.post(f"{base}/api/v1/incidents/INC-1/ack", json={"by": "me"}, timeout=10,
                       headers={"Authorization": given})
        assert r.status_code == 401, given
    ok = httpx.post(f"{base}/api/v1/incidents/INC-1/ack", json={"by": "me"}, timeout=10,
                    headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200, ok.text
