"""kcat's flat header list takes a fast path; it must build the same mapping as the general loop."""

from __future__ import annotations

import random
from typing import Any

from signal_factory.sources.jsonlines import _headers, _headers_general


def test_random_header_lists_match_the_general_conversion() -> None:
    rng = random.Random(4)
    pool: list[Any] = ["x-obs-trace-id", "X-Obs-Schema-Id", "traceparent", "k", "K", "", "ÄÖ", None, 7, 1.5,
                       True, ["a", "b"], {"a": 1}, "orders-svc", "v3.17"]
    for _ in range(5000):
        raw = [rng.choice(pool) for _ in range(rng.randint(0, 9))]
        if rng.random() < 0.5 and raw:
            raw[0] = rng.choice(["x-obs-trace-id", "K"])
        assert _headers(raw) == _headers_general(raw), raw
        assert list((_headers(raw) or {}).items()) == list((_headers_general(raw) or {}).items())


def test_shapes() -> None:
    assert _headers(["A", "1", "a", "2"]) == {"a": "2"}
    assert _headers(["a", None]) == {"a": ""}
    assert _headers(["a"]) is None
    assert _headers([["a", "b"]]) == {"a": "b"}
    assert _headers(None) == {}
