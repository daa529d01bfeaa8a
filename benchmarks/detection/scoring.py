"""Scoring: the generator's labels against the pages the pipeline raised. Pure functions, no pipeline code.

* A page (see runner.Page) is *true* if a label covers it (same dataset, event time from the label's
  onset to its end plus a 5-minute grace), else *false*. Several true pages for one label are all true
  (an escalation is a second, justified page) and are counted as `extra` pages.
* A label is *detected* if a page covers it. Time to first page = first covering page - onset; time to
  SEV-1 = first covering SEV-1 page - onset (a label that expects SEV-1 and never gets it counts as
  infinitely late, so it drags p95 to "never").
* Top-1 root cause (per detected label, from the RCA of the incident that paged first): the service
  must match, and the version too (for an upstream-drift label, a report that names no version passes).
* Blast-radius F1 (per detected label): the RCA's blast radius against every dataset downstream of the
  label's dataset, the dataset itself left out of both; both empty scores 1.
* Precision = true pages / pages; recall = detected labels / labels; false pages per 24 h = false pages
  / clean traffic hours x 24 (clean: traffic time outside every labelled breakage and its grace).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from benchmarks.detection.labels import UPSTREAM, PageLabel
from benchmarks.detection.runner import Page, Rca

INF = math.inf


@dataclass
class LabelScore:
    label: PageLabel
    detected: bool = False
    first_page_s: float | None = None
    sev1_s: float | None = None  # INF: expected SEV-1, never came
    top1: bool | None = None
    blast_f1: float | None = None
    incident_id: str | None = None
    rca: str = ""


@dataclass
class ScenarioScore:
    name: str
    title: str
    records: int
    seconds: float
    clean_hours: float
    pages: int = 0
    true_pages: int = 0
    false_pages: list[Page] = field(default_factory=list)
    labels: list[LabelScore] = field(default_factory=list)
    notifications: dict[str, int] = field(default_factory=dict)
    #: Paging incidents: id -> dataset, signature, severity history [(event ms, severity, change)], RCA.
    incidents: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def pagerduty(self) -> int:
        """PagerDuty events that ring a phone (trigger, and the trigger that re-sends an escalation)."""
        return sum(n for k, n in self.notifications.items() if k.startswith("pagerduty:") and
                   k.split(":")[1] in ("trigger", "update"))

    @property
    def precision(self) -> float | None:
        return self.true_pages / self.pages if self.pages else None

    @property
    def recall(self) -> float | None:
        return sum(ls.detected for ls in self.labels) / len(self.labels) if self.labels else None


def f1(predicted: Iterable[str], truth: Iterable[str]) -> float:
    """F1 of two sets; 1.0 when both are empty."""
    p, t = set(predicted), set(truth)
    if not p and not t:
        return 1.0
    hit = len(p & t)
    if hit == 0:
        return 0.0
    precision, recall = hit / len(p), hit / len(t)
    return 2 * precision * recall / (precision + recall)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when empty. INF values sort last."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def top1_correct(rca: Rca, label: PageLabel) -> bool:
    if rca.error is not None or rca.service != label.cause.service:
        return False
    if rca.version == label.cause.version:
        return True
    return label.cause.kind == UPSTREAM and rca.version is None


def describe(rca: Rca) -> str:
    if rca.error is not None:
        return f"error: {rca.error[:60]}"
    return f"{rca.kind} {rca.service or '-'} {rca.version or ''}".strip()


def score(name: str, title: str, records: int, seconds: float, clean_ms: int, labels: Sequence[PageLabel],
          pages: Sequence[Page], rcas: dict[str, Rca], notifications: dict[str, int] | None = None,
          ) -> ScenarioScore:
    """Match `pages` (any order) to `labels`; `rcas` holds the RCA per paging incident id."""
    out = ScenarioScore(name, title, records, seconds, clean_ms / 3_600_000, notifications=dict(notifications or {}))
    results = [LabelScore(lb) for lb in labels]
    covering: dict[int, list[Page]] = {i: [] for i in range(len(labels))}
    for page in sorted(pages, key=lambda p: p.at_ms):
        out.pages += 1
        owners = [i for i, lb in enumerate(labels) if lb.covers(page.dataset, page.at_ms)]
        if not owners:
            out.false_pages.append(page)
            continue
        out.true_pages += 1
        # Overlapping labels on one dataset: the page belongs to the latest breakage already under way.
        covering[max(owners, key=lambda i: labels[i].onset_ms)].append(page)
    for i, ls in enumerate(results):
        mine = covering[i]
        lb = ls.label
        if lb.expect_sev1:
            ls.sev1_s = INF
        if not mine:
            out.labels.append(ls)
            continue
        first = mine[0]
        ls.detected = True
        ls.first_page_s = (first.at_ms - lb.onset_ms) / 1000
        sev1 = [p.at_ms for p in mine if p.severity == "SEV-1"]
        if sev1:
            ls.sev1_s = (min(sev1) - lb.onset_ms) / 1000
        rca = rcas.get(first.incident_id, Rca(error="no RCA"))
        ls.incident_id = first.incident_id
        ls.top1 = top1_correct(rca, lb)
        ls.blast_f1 = f1(set(rca.blast_radius) - {lb.dataset}, lb.blast_radius - {lb.dataset})
        ls.rca = describe(rca)
        out.labels.append(ls)
    return out


@dataclass
class Totals:
    scenarios: int
    records: int
    seconds: float
    pages: int
    true_pages: int
    false_pages: int
    false_sev1: int
    clean_hours: float
    labels: int
    detected: int
    top1: int
    first_page: list[float]
    sev1: list[float]
    sev1_fast: list[float]
    blast_f1: list[float]

    @property
    def precision(self) -> float | None:
        return self.true_pages / self.pages if self.pages else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.labels if self.labels else None

    @property
    def false_per_24h(self) -> float:
        return self.false_pages / self.clean_hours * 24 if self.clean_hours else 0.0

    @property
    def top1_accuracy(self) -> float | None:
        return self.top1 / self.detected if self.detected else None

    @property
    def mean_blast_f1(self) -> float | None:
        return sum(self.blast_f1) / len(self.blast_f1) if self.blast_f1 else None


def totals(scores: Sequence[ScenarioScore]) -> Totals:
    labels = [ls for s in scores for ls in s.labels]
    detected = [ls for ls in labels if ls.detected]
    return Totals(
        scenarios=len(scores), records=sum(s.records for s in scores), seconds=sum(s.seconds for s in scores),
        pages=sum(s.pages for s in scores), true_pages=sum(s.true_pages for s in scores),
        false_pages=sum(len(s.false_pages) for s in scores),
        false_sev1=sum(1 for s in scores for p in s.false_pages if p.severity == "SEV-1"),
        clean_hours=sum(s.clean_hours for s in scores), labels=len(labels), detected=len(detected),
        top1=sum(1 for ls in detected if ls.top1),
        first_page=[ls.first_page_s for ls in detected if ls.first_page_s is not None],
        sev1=[ls.sev1_s for ls in labels if ls.sev1_s is not None],
        sev1_fast=[ls.sev1_s if ls.sev1_s is not None else INF for ls in labels if ls.label.fast],
        blast_f1=[ls.blast_f1 for ls in detected if ls.blast_f1 is not None])
