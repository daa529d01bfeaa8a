"""How sure the RCA is of a cause: six factors, each scored 0..1, weighted, summed, under a ceiling.

    score = CEILING x sum(WEIGHTS[f] x value[f])          level: HIGH >= 0.80, MEDIUM >= 0.50, else LOW

Factors and weights (they sum to 1; the ceiling keeps 5% for causes the graph cannot see, such as a
config change with no deploy marker, so correlation never claims certainty):

  temporal               0.30  deployment -> first failure: 0.5 ** (seconds / 1800), so seconds to minutes
                               after a deploy is strong (17 s: 0.99), an hour weak (0.25), hours ~0.
                               A deployment after the first failure cannot be its cause: it is excluded
                               before scoring. Drift: 1.0 when the real-time evidence of the same
                               signature precedes the batch failure.
  producer_match         0.25  the failing evidence's producer is the deployment's service and its
                               version is the deployed one: 1.0; service only (no version on the
                               evidence): 0.6; service with a different version: 0.2; another service or
                               no producer: 0.
  signature_determinism  0.15  share of the concurrent failures that carry this one signature. For an
                               incident keyed by its signal type (failures spread over many signatures,
                               `rca/spread.py`): coverage, the share of all its failures that the
                               signatures the cause explains carry.
  sample_size            0.10  n / (n + 25) failures: 1 -> 0.04, 10 -> 0.29, 380 -> 0.94, 1,120 -> 0.98.
  identity               0.15  how the failing records' producer was identified (gate G2): HEADER HIGH 1.0,
                               topic mapping MEDIUM 0.5, payload hint LOW 0.25, unknown 0.
  cause_marker           0.05  explicit deployment marker 1.0; deployment inferred from evidence 0.4;
                               a drift edge (PRODUCED_DRIFT) with no deployment 0.6; nothing 0.

A cause of a spread incident (`rca/spread.py`) whose signatures carry under half of its failures is at most
MEDIUM whatever its score: it is a cause, not the cause.

Scenario 1 (17 s, exact producer, one signature, 1,120 failures, HEADER identity, marker) scores 0.946.

The instant `temporal` measures to is the breach's onset: the first failure, unless the signature was already
there at a background rate and a later jump of that rate began the breach (`rca/onset.py`); the text says which.

A volume drop or a freshness stall has no failure signature: nothing in a record ties it to a change, only time
and ownership do. Such causes (`basis` volume or freshness) are scored on `ARRIVAL_WEIGHTS`, under a lower
ceiling, `ARRIVAL_CEILING` (0.75: never HIGH), and the report says so:

  temporal         0.40  deployment -> onset of the drop or stall, as above; a deployment up to `slack_s`
                         after the onset is weighed the same way on its distance from it (a stall begins at
                         the last record, and the deploy that stopped the producer lands before the next
                         record was due); later ones are excluded.
  relation         0.30  the service is a declared producer of the dataset 1.0; seen writing its records,
                         undeclared 0.8; producer of a dataset n FEEDS hops upstream 0.5 / n.
  version_seen     0.15  what the dataset's records say of the deployed version: a drop's remaining records
                         are of it, or a stall's producer never sent a record of it 1.0; records of it arrive
                         again after a stall 0.6; nothing to tell (upstream service) 0.5; the records after a
                         drop are of another version 0.2.
  identity         0.10  as above, for the records around the onset.
  cause_marker     0.05  as above.
  signature        0     always 0, listed to say why the ceiling is lower.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from signal_factory.rca.report import DEPLOYMENT, HIGH, LOW, MEDIUM, UNKNOWN, UPSTREAM_DRIFT, Confidence, Reason

WEIGHTS: dict[str, float] = {
    "temporal": 0.30,
    "producer_match": 0.25,
    "signature_determinism": 0.15,
    "sample_size": 0.10,
    "identity": 0.15,
    "cause_marker": 0.05,
}
CEILING = 0.95
ARRIVAL_WEIGHTS: dict[str, float] = {
    "temporal": 0.40,
    "relation": 0.30,
    "version_seen": 0.15,
    "identity": 0.10,
    "cause_marker": 0.05,
    "signature": 0.0,
}
ARRIVAL_CEILING = 0.75
HALF_LIFE_S = 1800.0
SAMPLE_HALF = 25
HIGH_AT = 0.80
MEDIUM_AT = 0.50
PARTIAL_BELOW = 0.5  # spread incident: a cause explaining under this share of the failures is at most MEDIUM

ProducerMatch = Literal["exact", "service", "version_mismatch", "other_service", "unknown"]
Marker = Literal["marker", "inferred", "drift_edge", "none"]
Basis = Literal["signature", "volume", "freshness"]
Relation = Literal["producer", "writer", "upstream", "none"]
VersionSeen = Literal["deployed", "never_sent", "resumed_with_it", "upstream", "other_version", "unknown"]

_MATCH = {"exact": 1.0, "service": 0.6, "version_mismatch": 0.2, "other_service": 0.0, "unknown": 0.0}
_IDENTITY = {"HIGH": 1.0, "MEDIUM": 0.5, "LOW": 0.25}
_IDENTITY_HOW = {"HIGH": "explicit producer header", "MEDIUM": "topic mapping only, no producer header",
                 "LOW": "payload hint only"}
_MARKER = {"marker": 1.0, "inferred": 0.4, "drift_edge": 0.6, "none": 0.0}


class CauseFacts(msgspec.Struct, kw_only=True):
    """The facts one candidate cause is scored on."""

    kind: str
    service: str | None = None
    version: str | None = None
    seconds: float | None = None  # deployment (or first real-time evidence) -> first failure
    producer: str | None = None  # of the failing evidence
    producer_version: str | None = None
    producer_match: ProducerMatch = "unknown"
    signature: str = ""
    signature_count: int = 0
    concurrent_failures: int = 0  # failures of every signature active together, this one included
    identity: str | None = None
    marker: Marker = "none"
    reference: str = "first failure"  # the instant `seconds` is measured to
    basis: Basis = "signature"
    dataset: str = ""  # volume / freshness: the dataset whose records dropped or stalled
    slack_s: float = 0.0  # volume / freshness: a deploy this long after the onset still counts as at it
    relation: Relation = "none"
    hops: int = 0  # upstream relation: FEEDS hops from the service's dataset
    version_seen: VersionSeen = "unknown"
    #: Failures spread over many signatures (`rca/spread.py`): how many of the incident's signatures
    #: (`signatures_total`) this cause explains; `signature_count` then counts their failures.
    signatures_covered: int = 0
    signatures_total: int = 0


def producer_match(service: str | None, version: str | None, producer: str | None,
                   producer_version: str | None) -> ProducerMatch:
    if not producer or not service:
        return "unknown"
    if producer != service:
        return "other_service"
    if not producer_version or not version:
        return "service"
    return "exact" if producer_version == version else "version_mismatch"


def duration(seconds: float) -> str:
    """17 -> '17 s', 155 -> '2 min 35 s', 41700 -> '11 h 35 min', 200000 -> '2 d 7 h'."""
    s = round(abs(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 // 60 else f"{s // 3600} h"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def _temporal(f: CauseFacts) -> tuple[float, str]:
    if f.kind == DEPLOYMENT:
        if f.seconds is None:
            return 0.0, "deployment time unknown"
        if f.seconds < -f.slack_s:
            return 0.0, f"deployed {duration(f.seconds)} after the {f.reference}: cannot be its cause"
        value = 0.5 ** (abs(f.seconds) / HALF_LIFE_S)
        if f.seconds < 0 and f.basis == "freshness":
            return value, (f"deployed {duration(f.seconds)} after the {f.reference}, before the next record was due "
                           f"(every {duration(f.slack_s)}): the silence may have begun with it")
        if f.seconds < 0:
            return value, (f"deployed {duration(f.seconds)} after the {f.reference}, within the minute it is known "
                           f"to: they coincide")
        strength = "strong" if value >= 0.8 else "moderate" if value >= 0.4 else "weak"
        return value, (f"{f.reference} {duration(f.seconds)} after the deployment ({strength}; "
                       f"this factor halves every {duration(HALF_LIFE_S)})")
    if f.kind == UPSTREAM_DRIFT:
        if f.seconds is None:
            return 0.5, "no time for the first real-time evidence; ordering unproven"
        if f.seconds < 0:
            return 0.0, "the batch failure came before any real-time evidence of the signature"
        return 1.0, (f"the same signature was seen in real time {duration(f.seconds)} before the batch "
                     f"failure, at the source")
    return 0.0, f"no deployment or upstream change found before the {f.reference}"


def _producer(f: CauseFacts) -> tuple[float, str]:
    who = f"{f.producer} {f.producer_version}" if f.producer_version else f"{f.producer}"
    cause = f"{f.service} {f.version}" if f.version else f"{f.service}"
    text = {
        "exact": f"failing evidence was produced by {who}, the deployed service and version",
        "service": f"failing evidence names {f.producer} but no version; service matches {cause}",
        "version_mismatch": f"failing evidence was produced by {who}, not the deployed {cause}",
        "other_service": f"failing evidence was produced by {f.producer}, not {f.service}",
        "unknown": "no producer on the failing evidence to match" if not f.producer
                   else f"failing evidence names {f.producer}; no deployment of it to match",
    }[f.producer_match]
    if f.kind == UPSTREAM_DRIFT and f.producer_match == "exact":
        text = f"the first real-time evidence names {f.producer}, the producer on the drift edge"
    return _MATCH[f.producer_match], text


def _determinism(f: CauseFacts) -> tuple[float, str]:
    total = max(f.concurrent_failures, f.signature_count)
    if total <= 0:
        return 0.0, "no failure counts"
    share = f.signature_count / total
    if f.signatures_total > 1:
        return _coverage(f, share, total)
    if share >= 0.999:
        return 1.0, f"all {f.signature_count:,} failures carry one signature, {f.signature}"
    return share, (f"{f.signature_count:,} of {total:,} concurrent failures ({share:.0%}) carry {f.signature}; "
                   f"other signatures share the window")


def _coverage(f: CauseFacts, share: float, total: int) -> tuple[float, str]:
    """Failures spread over many signatures: how much of them this cause explains."""
    m = f.signatures_total
    if f.kind == UNKNOWN:
        return share, (f"the failures are spread over {m} signatures; the largest, {f.signature}, carries "
                       f"{f.signature_count:,} of {total:,} ({share:.0%})")
    if f.signatures_covered == 0:
        return 0.0, f"none of the incident's {m} signatures comes from {f.service}'s records"
    if share >= 0.999:
        return 1.0, f"the cause covers all {m} signatures of the incident ({total:,} failures)"
    cap = f" (so at most {MEDIUM}: it explains under half)" if share < PARTIAL_BELOW else ""
    return share, (f"the cause covers {f.signatures_covered} of the incident's {m} signatures, which carry "
                   f"{f.signature_count:,} of its {total:,} failures ({share:.0%}); the rest is unexplained{cap}")


def _sample(f: CauseFacts) -> tuple[float, str]:
    n = f.signature_count
    value = n / (n + SAMPLE_HALF) if n > 0 else 0.0
    size = "large" if value >= 0.9 else "moderate" if value >= 0.5 else "small"
    return value, f"{n:,} failing records ({size} sample)"


def _identity(f: CauseFacts) -> tuple[float, str]:
    level = (f.identity or "").upper()
    if level in _IDENTITY:
        return _IDENTITY[level], f"producer identified with {level} confidence ({_IDENTITY_HOW[level]})"
    return 0.0, "producer of the failing records unknown"


def _marker(f: CauseFacts) -> tuple[float, str]:
    text = {"marker": "explicit deployment marker", "inferred": "deployment inferred from a new version in "
            "the evidence, no marker", "drift_edge": "drift linked to the producer by the graph, no deployment "
            "marker explains the change", "none": "no deployment marker"}[f.marker]
    return _MARKER[f.marker], text


_RELATION = {"producer": 1.0, "writer": 0.8, "none": 0.0}
_VERSION_SEEN = {"deployed": 1.0, "never_sent": 1.0, "resumed_with_it": 0.6, "upstream": 0.5, "unknown": 0.5,
                 "other_version": 0.2}


def _relation(f: CauseFacts) -> tuple[float, str]:
    if f.relation == "upstream":
        hops = max(f.hops, 1)
        return 0.5 / hops, (f"{f.service} produces a dataset {hops} FEEDS hop{'s' if hops > 1 else ''} upstream of "
                            f"{f.dataset}, not {f.dataset} itself")
    text = {"producer": f"{f.service} is a declared producer of {f.dataset}",
            "writer": f"{f.service} writes {f.dataset}'s records (seen in the evidence) but is not a declared producer",
            "none": f"{f.service} neither produces {f.dataset} nor anything upstream of it"}[f.relation]
    return _RELATION[f.relation], text


def _version_seen(f: CauseFacts) -> tuple[float, str]:
    what = "drop" if f.basis == "volume" else "stall"
    deployed = (f"the records still arriving after the drop are {f.service} {f.version}'s, the deployed version"
                if f.basis == "volume" else f"the last records before the stall are {f.service} {f.version}'s")
    text = {"deployed": deployed,
            "never_sent": f"no record of {f.service} {f.version} ever reached {f.dataset}",
            "resumed_with_it": f"records of {f.service} {f.version} itself arrived after the stall: it recovered",
            "upstream": f"{f.dataset}'s records do not carry {f.service}'s versions (upstream)",
            "unknown": f"no record of {f.service} around the {what} to tell its version",
            "other_version": f"the records after the {what} are of another {f.service} version, not {f.version}"}
    return _VERSION_SEEN[f.version_seen], text[f.version_seen]


def _signature(f: CauseFacts) -> tuple[float, str]:
    what = "volume drop" if f.basis == "volume" else "freshness stall"
    return 0.0, (f"a {what} carries no failure signature: no record names what changed, so this cause rests on "
                 f"time and ownership only (ceiling {ARRIVAL_CEILING:.0%} instead of {CEILING:.0%})")


_FACTORS = {"temporal": _temporal, "producer_match": _producer, "signature_determinism": _determinism,
            "sample_size": _sample, "identity": _identity, "cause_marker": _marker, "relation": _relation,
            "version_seen": _version_seen, "signature": _signature}


def level_of(score: float) -> str:
    return HIGH if score >= HIGH_AT else MEDIUM if score >= MEDIUM_AT else LOW


def score(facts: CauseFacts) -> Confidence:
    """The confidence of one candidate, with one reason per factor (largest weight first)."""
    reasons: list[Reason] = []
    weights, ceiling = (WEIGHTS, CEILING) if facts.basis == "signature" else (ARRIVAL_WEIGHTS, ARRIVAL_CEILING)
    for name, weight in weights.items():
        value, text = _FACTORS[name](facts)
        value = round(value, 4)
        reasons.append(Reason(factor=name, value=value, weight=weight, effect=round(ceiling * weight * value, 4),
                              text=text))
    total = round(sum(r.effect for r in reasons), 4)
    level = level_of(total)
    if level == HIGH and _explains_under_half(facts):
        level = MEDIUM
    return Confidence(score=total, level=level, reasons=reasons, ceiling=ceiling)


def _explains_under_half(f: CauseFacts) -> bool:
    """A cause of some of a spread incident's signatures that carry under half of its failures."""
    total = max(f.concurrent_failures, f.signature_count)
    return (f.signatures_total > 1 and f.kind != UNKNOWN and f.signatures_covered > 0 and total > 0
            and f.signature_count / total < PARTIAL_BELOW)
