"""The report's explanation: written from its facts by templates (deterministic), optionally polished by an LLM.

The LLM is used only when `SIGNAL_FACTORY_LLM_URL` (an OpenAI-compatible base URL) and
`SIGNAL_FACTORY_LLM_MODEL` are set; `SIGNAL_FACTORY_LLM_API_KEY` is sent as a bearer token and never
printed. It gets the facts (JSON) and the template text, and is told to rewrite without adding facts.
Its answer is refused, and the template kept, when the call fails or times out, when the answer is
empty, or when it names anything with a digit in it (a time, count, version, id) that is not in the
facts. The report says which text it carries (`explanation.source`) and why a fallback happened.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from signal_factory.rca.report import DEPLOYMENT, UPSTREAM_DRIFT, Explanation, RCAReport
from signal_factory.settings import PREFIX, Secret
from signal_factory.signals.model import FRESHNESS_BREACH, VOLUME_ANOMALY

ARRIVAL_KINDS = (VOLUME_ANOMALY, FRESHNESS_BREACH)

DEFAULT_TIMEOUT_S = 8.0
SYSTEM_PROMPT = (
    "You rewrite root-cause analysis summaries for an on-call data engineer. Rewrite the draft so it reads "
    "clearly in at most 120 words. Use only facts in the draft and the JSON facts: add no cause, number, time, "
    "name, version or id that is not there, and do not speculate. Keep the confidence percentage and level. "
    "Answer with the rewritten text only.")


def template_explanation(report: RCAReport) -> Explanation:
    return Explanation(text=template_text(report), source="template")


def template_text(report: RCAReport) -> str:
    rc, conf, chain = report.root_cause, report.confidence, report.evidence
    parts = [rc.statement]
    arrival = report.header.failure_signature in ARRIVAL_KINDS
    if rc.kind == DEPLOYMENT and not arrival:
        who = f"{chain.producer} {chain.producer_version}" if chain.producer_version else chain.producer
        parts.append(f"Its failing records name {who} ({chain.identity_confidence or 'unknown'} identity)."
                     if chain.producer else "The failing records name no producer.")
    elif arrival and chain.producer:
        who = f"{chain.producer} {chain.producer_version}" if chain.producer_version else chain.producer
        parts.append(f"The records around the onset come from {who} ({chain.identity_confidence or 'unknown'} "
                     f"identity); no failure signature ties them to the change.")
    elif rc.kind == UPSTREAM_DRIFT and chain.realtime_warn_evidence_id:
        parts.append(f"The real-time enforcer flagged it first ({chain.realtime_warn_evidence_id} at "
                     f"{chain.realtime_warn_at}); later, batch validation failed {chain.batch_fail_count or 0:,} "
                     f"records with it.")
    if chain.failed_events and chain.total_events:
        parts.append(f"{chain.failed_events:,} of {chain.total_events:,} events failed "
                     f"({chain.failed_events / chain.total_events:.1%}).")
    if report.blast_radius:
        tier1 = sum(1 for b in report.blast_radius if b.tier == 1)
        names = ", ".join(b.name for b in report.blast_radius)
        parts.append(f"{len(report.blast_radius)} downstream assets are at risk ({tier1} tier 1): {names}.")
    parts.append(f"Confidence {conf.score:.0%} ({conf.level}).")
    weighed = [a for a in report.alternatives if a.verdict != "excluded"]
    if weighed:
        a = weighed[0]
        parts.append(f"Also weighed: {a.service} {a.version or ''}".rstrip() + f" - {a.why}.")
    for c in report.concurrent_signatures:
        parts.append(f"A concurrent signature, {c.reason_code} on {c.dataset_urn}, is analysed on its own.")
    if report.actions:
        parts.append(f"First step: {report.actions[0]}.")
    return " ".join(parts)


@dataclass(frozen=True)
class LlmConfig:
    url: str
    model: str
    api_key: Secret | None = field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LlmConfig | None:
        """From `SIGNAL_FACTORY_LLM_URL`, `_MODEL`, `_API_KEY`, `_TIMEOUT_S`; None unless URL and model are set."""
        url, model = env.get(f"{PREFIX}LLM_URL"), env.get(f"{PREFIX}LLM_MODEL")
        if not url or not model:
            return None
        key = env.get(f"{PREFIX}LLM_API_KEY")
        timeout = float(env.get(f"{PREFIX}LLM_TIMEOUT_S") or DEFAULT_TIMEOUT_S)
        return cls(url=url.rstrip("/"), model=model, api_key=Secret(key) if key else None, timeout_s=timeout)


def facts_of(report: RCAReport) -> dict[str, Any]:
    """What the LLM may use: the report without timing and without the explanation itself."""
    doc: dict[str, Any] = msgspec.to_builtins(report)
    doc.pop("timing", None)
    doc.pop("explanation", None)
    return doc


def polish(report: RCAReport, config: LlmConfig | None) -> RCAReport:
    """The report with its explanation rewritten by the configured LLM, or unchanged (template) on any failure."""
    if config is None:
        return report
    template = template_text(report)
    facts = msgspec.json.encode(facts_of(report)).decode()
    t0 = time.perf_counter()
    try:
        text = _chat(config, facts, template)
        invented = invented_tokens(text, template + "\n" + facts)
        if invented:
            raise ValueError(f"answer names facts not in the report: {', '.join(invented[:5])}")
        explanation = Explanation(text=text, source="llm", model=config.model)
    except Exception as e:  # any failure of the optional polish falls back to the template, by design
        reason = f"{type(e).__name__}: {e}"[:300]
        explanation = Explanation(text=template, source="template", model=config.model, fallback_reason=reason)
    llm_ms = round((time.perf_counter() - t0) * 1000, 3)
    timing = msgspec.structs.replace(report.timing, llm_ms=llm_ms)
    return msgspec.structs.replace(report, explanation=explanation, timing=timing)


def _chat(config: LlmConfig, facts: str, template: str) -> str:
    headers = {"Content-Type": "application/json"}
    if config.api_key is not None:
        headers["Authorization"] = f"Bearer {config.api_key.reveal()}"
    body = {"model": config.model, "temperature": 0, "messages": [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Facts (JSON):\n{facts}\n\nDraft:\n{template}"}]}
    import httpx  # noqa: PLC0415 - only a configured LLM needs it; `rca` starts without it

    with httpx.Client(timeout=config.timeout_s) as client:
        response = client.post(f"{config.url}/chat/completions", json=body, headers=headers)
        response.raise_for_status()
        doc = response.json()
    text = doc["choices"][0]["message"]["content"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty answer")
    return text.strip()


_TOKEN = re.compile(r"[A-Za-z0-9_.:@/\-]*\d[A-Za-z0-9_.:@/\-]*")


def invented_tokens(text: str, known: str) -> list[str]:
    """Words with a digit in `text` (times, counts, versions, ids) that are not words of `known`, nor (from
    four characters up) part of one: `09:57` may shorten `2024-01-15T09:57:45.000Z`, a bare `2` may not."""
    words = {w.strip(".:-/") for w in _TOKEN.findall(known)}
    out = []
    for raw in _TOKEN.findall(text):
        token = raw.strip(".:-/")
        if not token or token in words or token in out:
            continue
        if len(token) >= 4 and any(token in w for w in words):
            continue
        out.append(token)
    return out
