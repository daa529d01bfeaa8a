"""Generated control planes: datasets, topics, producers, ODCS contracts, schemas, alerting, lineage.

A `World` is plain data the scenarios build (services, topic datasets, downstream tables and their
FEEDS edges); `World.write(dir)` renders it as the YAML files of docs/control-plane.md, so the real
loader validates it. The ground truth the scorer uses (the blast radius of a dataset: everything
downstream of it) is computed here from the generator's own edges, never by the product.

Two shapes are shared by the scenarios:

* `shop_world()`: the seed's orders world (raw orders -> bronze -> silver -> gold daily -> executive
  dashboard, silver -> finance pipeline) plus payments, shipments and a legacy inventory topic whose
  producer sends bare JSON without headers.
* `big_world()`: 15 services, each owning one topic, and 25 downstream tables, pipelines and dashboards:
  40 datasets in all, every chain at most 3 FEEDS hops below its topic's bronze landing, so the
  product's 3-hop blast-radius limit never cuts a true downstream dataset off.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Contract enum values of the `status`-like field every headered topic carries.
DISCOUNTS = ("NONE", "PERCENTAGE", "FIXED_AMOUNT", "LOYALTY", "COUPON")


@dataclass(frozen=True)
class Topic:
    """A Kafka topic, its dataset and the shape of its records."""

    name: str
    urn: str
    owner_service: str
    domain: str
    id_field: str = "order_id"
    id_prefix: str = "ORD"
    event_type: str = "orders.created.v1"
    enum_field: str = "discount_type"
    legacy: bool = False  # bare JSON values, no headers, no raw-event envelope
    form: str = "kcat"  # kcat | plain (the two JSON-lines forms `signal-factory replay` reads)

    @property
    def schema_id(self) -> str:
        return f"bench:{self.name}:1"

    @property
    def contract_id(self) -> str:
        return f"dc:{self.name}:1"


@dataclass(frozen=True)
class Feed:
    to: str
    type: str = "BATCH"
    job: str | None = None


@dataclass
class DatasetSpec:
    urn: str
    tier: int
    owner: str
    type: str = "delta_table"
    name: str | None = None
    topic: Topic | None = None
    producers: list[str] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)
    feeds: list[Feed] = field(default_factory=list)
    contract_of: Topic | None = None  # a batch table validated against its topic's contract
    freshness: str | None = None
    volume: tuple[float, int] | None = None  # (tolerance, min_history_windows)
    contract_slo: tuple[float, float] = (0.95, 0.80)
    data_quality: tuple[float, float] | None = None


@dataclass
class World:
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)
    #: OpenLineage (namespace, name glob) -> URN rules for lineage.yaml.
    lineage: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, spec: DatasetSpec) -> DatasetSpec:
        self.datasets[spec.urn] = spec
        if spec.topic is not None:
            self.topics[spec.topic.name] = spec.topic
        for svc in spec.producers:
            if svc not in self.services:
                self.services.append(svc)
        return spec

    def downstream(self, urn: str) -> frozenset[str]:
        """Every dataset reachable from `urn` over FEEDS edges (the true blast radius), `urn` excluded."""
        seen: set[str] = set()
        todo = [urn]
        while todo:
            for feed in self.datasets[todo.pop()].feeds:
                if feed.to not in seen:
                    seen.add(feed.to)
                    todo.append(feed.to)
        seen.discard(urn)
        return frozenset(seen)

    def write(self, root: Path) -> Path:
        """Render the control plane as files under `root` (created); returns `root`."""
        (root / "contracts").mkdir(parents=True, exist_ok=True)
        (root / "schemas").mkdir(exist_ok=True)
        _dump(root / "datasets.yaml", {"datasets": [_dataset_yaml(d) for d in self.datasets.values()]})
        _dump(root / "topics.yaml", {"topics": [
            {"topic": t.name, "dataset": t.urn, "producer": t.owner_service} for t in self.topics.values()]})
        _dump(root / "producers.yaml", {"producers": [
            {"id": s, "owner": f"{s.removesuffix('-svc')}-team"} for s in self.services]})
        _dump(root / "alerting.yaml", ALERTING)
        _dump(root / "signal-factory.yaml", {"evidence": {"pass_sample_rates": {1: 1.0, 2: 0.5, 3: 0.1}},
                                             "pii": {"on_detect": "FAIL"}})
        if self.lineage:
            _dump(root / "lineage.yaml", {"datasets": [
                {"namespace": ns, "name": name, "urn": urn} for ns, name, urn in self.lineage]})
        for topic in self.topics.values():
            _dump(root / "contracts" / f"{topic.name}.odcs.yaml", contract_yaml(topic))
            (root / "schemas" / f"{topic.name}.schema.json").write_text(json.dumps(schema_json(topic), indent=1))
        return root


#: Routes as a real deployment has them; their secrets come from variables that are never set here, so
#: every notification stays PENDING in the outbox (the `--no-send` of `signal-factory replay`).
ALERTING: dict[str, Any] = {
    "routes": [
        {"name": "oncall", "type": "pagerduty", "routing_key_env": "SF_DETBENCH_UNSET_PD_KEY",
         "min_severity": "SEV-1"},
        {"name": "slack", "type": "slack", "url_env": "SF_DETBENCH_UNSET_SLACK_URL", "min_severity": "SEV-2"},
        {"name": "webhook", "type": "webhook", "url_env": "SF_DETBENCH_UNSET_HOOK_URL", "min_severity": "SEV-4"},
    ],
}


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _dataset_yaml(d: DatasetSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"urn": d.urn, "name": d.name or d.urn.split(":", 2)[2], "type": d.type, "tier": d.tier,
                           "owner": d.owner}
    if d.producers:
        out["producers"] = d.producers
    if d.consumers:
        out["consumers"] = d.consumers
    topic = d.topic or d.contract_of
    if d.topic is not None:
        out["schema"] = d.topic.schema_id
    if topic is not None:
        out["contract"] = topic.contract_id
    slo: dict[str, Any] = {"contract_compliance": {"threshold": d.contract_slo[0],
                                                   "warning_threshold": d.contract_slo[1]}}
    if d.data_quality is not None:
        slo["data_quality"] = {"threshold": d.data_quality[0], "warning_threshold": d.data_quality[1]}
    if d.freshness is not None:
        slo["freshness"] = {"expected_interval": d.freshness}
    if d.volume is not None:
        slo["volume"] = {"tolerance": d.volume[0], "min_history_windows": d.volume[1]}
    out["slo"] = slo
    if d.feeds:
        out["feeds"] = [{"to": f.to, "type": f.type, **({"job": f.job} if f.job else {})} for f in d.feeds]
    return out


def contract_yaml(t: Topic) -> dict[str, Any]:
    """The ODCS v3 contract of a topic (the seed's orders contract, with the topic's own id field)."""
    if t.legacy:
        props: list[dict[str, Any]] = [
            {"name": "sku", "logicalType": "string", "required": True},
            {"name": "warehouse", "logicalType": "string", "required": True},
            {"name": "on_hand", "logicalType": "integer", "required": True, "logicalTypeOptions": {"minimum": 0}},
        ]
    else:
        props = [
            {"name": t.id_field, "logicalType": "string", "required": True, "primaryKey": True,
             "logicalTypeOptions": {"pattern": f"^{t.id_prefix}-[0-9]{{4}}-[0-9]{{4}}-[0-9]+$"}},
            {"name": "customer_id", "logicalType": "string", "required": True},
            {"name": "total_amount", "logicalType": "number", "required": True, "logicalTypeOptions": {"minimum": 0}},
            {"name": "currency", "logicalType": "string", "required": True,
             "logicalTypeOptions": {"pattern": "^[A-Z]{3}$"}},
            {"name": "created_at", "logicalType": "timestamp"},
            {"name": t.enum_field, "logicalType": "string", "quality": [
                {"metric": "invalidValues", "arguments": {"validValues": list(DISCOUNTS)}, "mustBe": 0,
                 "severity": "warning"}]},
            {"name": "customer_email", "logicalType": "string", "classification": "pii",
             "logicalTypeOptions": {"format": "email"}},
            {"name": "notes", "logicalType": "string", "logicalTypeOptions": {"maxLength": 1000}},
            {"name": "items", "logicalType": "array", "items": {"logicalType": "object", "properties": [
                {"name": "sku", "logicalType": "string", "required": True},
                {"name": "qty", "logicalType": "integer", "required": True, "logicalTypeOptions": {"minimum": 1}},
                {"name": "price", "logicalType": "number", "logicalTypeOptions": {"minimum": 0}}]}},
        ]
    return {"apiVersion": "v3.1.0", "kind": "DataContract", "id": t.contract_id, "name": t.name,
            "version": "1.0.0", "status": "active", "domain": t.domain,
            "schema": [{"name": t.name.replace(".", "_").replace("-", "_"), "physicalName": t.name,
                        "logicalType": "object", "properties": props}]}


def schema_json(t: Topic) -> dict[str, Any]:
    """The topic's JSON Schema (shape only: `customer_id` optional, as in the seed's schema 17)."""
    if t.legacy:
        props: dict[str, Any] = {"sku": {"type": "string"}, "warehouse": {"type": "string"},
                                 "on_hand": {"type": "integer"}}
        required = ["sku"]
    else:
        props = {t.id_field: {"type": "string"}, "customer_id": {"type": ["string", "null"]},
                 "total_amount": {"type": "number"}, "currency": {"type": "string"},
                 "created_at": {"type": "string"}, t.enum_field: {"type": "string"},
                 "customer_email": {"type": "string"}, "notes": {"type": "string"}, "items": {"type": "array"}}
        required = [t.id_field, "total_amount", "currency"]
    return {"$schema": "http://json-schema.org/draft-07/schema#", "$id": t.schema_id, "type": "object",
            "required": required, "properties": props}


# --- the two shared worlds -----------------------------------------------------------------------------

ORDERS = "urn:dp:orders:created"
BRONZE = "urn:dp:orders:bronze"
SILVER = "urn:dp:orders:silver"
PAYMENTS = "urn:dp:payments:captured"
SHIPMENTS = "urn:dp:shipments:dispatched"
INVENTORY = "urn:dp:inventory:updated"


def shop_world(*, orders_volume: tuple[float, int] | None = (3.0, 12), orders_freshness: str | None = "5m",
               shared_orders_producers: tuple[str, ...] = ()) -> World:
    """The seed's orders world plus payments, shipments and a legacy inventory topic (11 datasets)."""
    w = World()
    orders = Topic("raw.orders.events", ORDERS, "orders-svc", "orders")
    payments = Topic("raw.payments.events", PAYMENTS, "payments-svc", "payments", id_field="payment_id",
                     id_prefix="PAY", event_type="payments.captured.v1")
    shipments = Topic("raw.shipments.events", SHIPMENTS, "shipments-svc", "shipments", id_field="shipment_id",
                      id_prefix="SHP", event_type="shipments.dispatched.v1", form="plain")
    inventory = Topic("raw.inventory.events", INVENTORY, "legacy-inventory-svc", "inventory", legacy=True,
                      form="plain")
    w.add(DatasetSpec(ORDERS, 1, "orders-team", "kafka_topic", "Orders created (raw events)", orders,
                      producers=["orders-svc", *shared_orders_producers],
                      consumers=["finance-pipeline", "analytics-dashboard"],
                      feeds=[Feed(BRONZE, "STREAM", "orders-kafka-to-bronze")], freshness=orders_freshness,
                      volume=orders_volume))
    w.add(DatasetSpec(BRONZE, 2, "data-platform", name="orders_bronze",
                      feeds=[Feed(SILVER, "BATCH", "orders_silver_transform")]))
    w.add(DatasetSpec(SILVER, 1, "data-platform", name="sales.orders_silver", contract_of=orders,
                      contract_slo=(0.99, 0.95), data_quality=(0.99, 0.95), freshness="1d",
                      feeds=[Feed("urn:dp:orders:gold_daily", "BATCH", "orders_daily_agg"),
                             Feed("urn:dp:finance:revenue_pipeline", "BATCH", "finance_revenue_load")]))
    w.add(DatasetSpec("urn:dp:orders:gold_daily", 1, "analytics-engineering", name="sales.orders_gold_daily",
                      feeds=[Feed("urn:dp:dashboards:executive_revenue", "DASHBOARD")]))
    w.add(DatasetSpec("urn:dp:dashboards:executive_revenue", 1, "bi-team", "dashboard", "Executive revenue"))
    w.add(DatasetSpec("urn:dp:finance:revenue_pipeline", 1, "finance-data", "pipeline", "Finance revenue pipeline"))
    w.add(DatasetSpec(PAYMENTS, 1, "payments-team", "kafka_topic", "Payments captured", payments,
                      producers=["payments-svc"], feeds=[Feed("urn:dp:payments:bronze", "STREAM", "payments-sink")],
                      freshness="10m"))
    w.add(DatasetSpec("urn:dp:payments:bronze", 2, "data-platform", name="payments_bronze",
                      feeds=[Feed("urn:dp:finance:revenue_pipeline", "BATCH", "finance_revenue_load")]))
    w.add(DatasetSpec(SHIPMENTS, 2, "logistics-team", "kafka_topic", "Shipments dispatched", shipments,
                      producers=["shipments-svc"], feeds=[Feed("urn:dp:shipments:bronze", "STREAM", "shipments-sink")]))
    w.add(DatasetSpec("urn:dp:shipments:bronze", 3, "data-platform", name="shipments_bronze"))
    w.add(DatasetSpec(INVENTORY, 2, "inventory-team", "kafka_topic", "Inventory updates (legacy, no headers)",
                      inventory, producers=["legacy-inventory-svc"]))
    w.lineage = [("kafka://bench", "raw.orders.events", ORDERS),
                 ("s3://bench-lake", "bronze/orders/*", BRONZE),
                 ("delta://bench", "sales.orders_silver", SILVER),
                 ("delta://bench", "sales.orders_gold_daily", "urn:dp:orders:gold_daily")]
    return w


_DOMAINS = ("accounts", "billing", "carts", "catalog", "checkout", "coupons", "fraud", "invoices", "loyalty",
            "ledger", "pricing", "refunds", "reviews", "search", "wishlist")


def big_world(seed: int = 40) -> World:
    """15 services x 1 topic + 25 downstream datasets = 40 datasets, deterministic in `seed`."""
    rng = random.Random(seed)
    w = World()
    tables: list[str] = []
    for k, domain in enumerate(_DOMAINS):
        svc = f"{domain}-svc"
        urn = f"urn:dp:{domain}:events"
        prefix = domain[:3].upper()
        topic = Topic(f"raw.{domain}.events", urn, svc, domain, id_field=f"{domain}_id", id_prefix=prefix,
                      event_type=f"{domain}.changed.v1", form="kcat" if k % 3 else "plain")
        spec = w.add(DatasetSpec(urn, 1 if k % 3 == 0 else 2, f"{domain}-team", "kafka_topic", f"{domain} events",
                                 topic, producers=[svc], consumers=[f"{domain}-consumers"], freshness="15m"))
        # Downstream chain: bronze (STREAM, not a hop) -> silver -> gold/dashboard, 25 datasets in all.
        if k < 10:
            bronze = f"urn:dp:{domain}:bronze"
            spec.feeds.append(Feed(bronze, "STREAM", f"{domain}-sink"))
            bronze_spec = w.add(DatasetSpec(bronze, 2, "data-platform", name=f"{domain}_bronze"))
            tables.append(bronze)
            if k < 8:
                silver = f"urn:dp:{domain}:silver"
                bronze_spec.feeds.append(Feed(silver, "BATCH", f"{domain}_silver_job"))
                silver_spec = w.add(DatasetSpec(silver, rng.choice((1, 2)), "data-platform", name=f"{domain}_silver"))
                if k < 7:
                    kind = "dashboard" if k % 2 else "delta_table"
                    gold = f"urn:dp:{domain}:{'dashboard' if k % 2 else 'gold'}"
                    silver_spec.feeds.append(Feed(gold, "DASHBOARD" if k % 2 else "BATCH", f"{domain}_gold_job"))
                    w.add(DatasetSpec(gold, 1, "analytics-engineering", kind, f"{domain} {kind}"))
    if (len(w.datasets), len(w.services)) != (40, 15):
        raise AssertionError(f"big_world has {len(w.datasets)} datasets and {len(w.services)} services")
    return w
