"""Explanation text: deterministic template, LLM polish against a local chat-completions server, and fallback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from signal_factory.rca.explain import LlmConfig, invented_tokens, polish, template_text
from signal_factory.rca.report import RCAReport, to_json
from signal_factory.settings import Secret

POLISHED = ("orders-svc v3.17, deployed at 09:57:45 UTC, stopped sending customer_id 17 s later; 1,120 of 1,247 "
            "events failed. Confidence 95% (HIGH). Roll back to v3.16.")


class ChatServer(ThreadingHTTPServer):
    """Speaks POST /v1/chat/completions; `mode` picks the answer: ok, error (HTTP 500), slow, invent, empty."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        mode = self.server.mode
        if mode == "error":
            self._send(500, b'{"error": "overloaded"}')
            return
        if mode == "slow":
            time.sleep(0.6)
        content = {"ok": POLISHED, "slow": POLISHED, "invent": POLISHED + " It began with release v3.18 at 09:40.",
                   "empty": "  "}[mode]
        self._send(200, json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": content}}]}).encode())

    def _send(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    server = ChatServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _config(server: ChatServer, timeout_s: float = 5.0) -> LlmConfig:
    return LlmConfig(url=server.url, model="test-model", api_key=Secret("sk-test-123"), timeout_s=timeout_s)


def test_template_is_deterministic_and_factual(scenario1_report: RCAReport) -> None:
    """The same facts give the same text, built from the statement, counts, blast radius, confidence and step 1."""
    text = template_text(scenario1_report)
    assert text == scenario1_report.explanation.text == template_text(scenario1_report)
    assert text.startswith(scenario1_report.root_cause.statement)
    assert "1,120 of 1,247 events failed (89.8%)." in text
    assert "Confidence 95% (HIGH)." in text
    assert "First step: Roll back orders-svc to v3.16" in text


def test_no_llm_configured_keeps_the_template(scenario1_report: RCAReport) -> None:
    """Without SIGNAL_FACTORY_LLM_URL/MODEL nothing is called and the template stays."""
    assert LlmConfig.from_env({"SIGNAL_FACTORY_LLM_URL": "http://x"}) is None
    assert polish(scenario1_report, None) is scenario1_report


def test_llm_polishes_with_the_facts_and_the_template(scenario1_report: RCAReport, chat: ChatServer) -> None:
    """The model gets the facts (JSON) and the draft, with the key as bearer token; its text is used and timed."""
    report = polish(scenario1_report, _config(chat))
    assert (report.explanation.source, report.explanation.model, report.explanation.text) == (
        "llm", "test-model", POLISHED)
    assert report.timing.llm_ms is not None
    assert report.timing.llm_ms > 0
    (req,) = chat.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["auth"] == "Bearer sk-test-123"
    body = req["body"]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0
    system, user = body["messages"]
    assert "add no cause, number, time" in system["content"]
    facts = json.loads(user["content"].split("Facts (JSON):\n", 1)[1].split("\n\nDraft:\n", 1)[0])
    assert facts["root_cause"]["version"] == "v3.17"
    assert "timing" not in facts
    assert user["content"].endswith(template_text(scenario1_report))
    assert b"sk-test-123" not in to_json(report)


@pytest.mark.parametrize(("mode", "timeout_s", "reason"), [
    ("error", 5.0, "HTTPStatusError"),
    ("slow", 0.2, "ReadTimeout"),
    ("invent", 5.0, "answer names facts not in the report: v3.18, 09:40"),
    ("empty", 5.0, "empty answer"),
])
def test_llm_failure_falls_back_to_the_template(scenario1_report: RCAReport, chat: ChatServer, mode: str,
                                                timeout_s: float, reason: str) -> None:
    """A server error, a timeout, an invented fact or an empty answer: the template is kept and the report says why."""
    chat.mode = mode
    report = polish(scenario1_report, _config(chat, timeout_s))
    ex = report.explanation
    assert (ex.source, ex.text) == ("template", template_text(scenario1_report))
    assert ex.fallback_reason is not None
    assert reason in ex.fallback_reason
    assert "sk-test-123" not in ex.fallback_reason


def test_unreachable_llm_falls_back(scenario1_report: RCAReport) -> None:
    """Nobody listening: connection refused, template kept."""
    with ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as probe:
        port = probe.server_address[1]
    report = polish(scenario1_report, LlmConfig(url=f"http://127.0.0.1:{port}", model="m", timeout_s=1.0))
    assert report.explanation.source == "template"
    assert report.explanation.fallback_reason is not None
    assert report.explanation.fallback_reason.startswith("ConnectError")


def test_config_from_env_never_shows_the_key() -> None:
    """URL and model from the environment; the key is a Secret, absent from repr and str."""
    cfg = LlmConfig.from_env({"SIGNAL_FACTORY_LLM_URL": "http://llm.local/v1/", "SIGNAL_FACTORY_LLM_MODEL": "m",
                              "SIGNAL_FACTORY_LLM_API_KEY": "sk-live-999", "SIGNAL_FACTORY_LLM_TIMEOUT_S": "3"})
    assert cfg is not None
    assert (cfg.url, cfg.model, cfg.timeout_s) == ("http://llm.local/v1", "m", 3.0)
    assert "sk-live-999" not in repr(cfg)
    assert "sk-live-999" not in str(cfg.api_key)
    assert cfg.api_key is not None
    assert cfg.api_key.reveal() == "sk-live-999"


def test_invented_tokens_checks_every_word_with_a_digit() -> None:
    """Times, versions, counts and ids in the answer must occur in the facts."""
    known = "orders-svc v3.17 at 09:57:45; 1,120 of 1,247; evd-01HQ"
    assert invented_tokens("v3.17 at 09:57:45 with 1,120 failures (evd-01HQ).", known) == []
    assert invented_tokens("v3.18 at 10:01, 2,000 failures", known) == ["v3.18", "10:01", "2", "000"]
