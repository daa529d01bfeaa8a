"""Graph nodes and edges (seed 2.4, Scenario 1 Step 4, Scenario 2 Step 7). Pure data.

Node ids are `<Kind>:<key>`; keys by kind:
  Service            service name                       (openCypher label also `Producer`)
  Deployment         `<service>:<version>`              ts_ms = deployed_at (or first_seen if inferred)
  Dataset            dataset URN
  FailureSignature   `<reason code>@<dataset URN>`      props: reason_code, dataset_urn, first_seen, count
  Signal             signal id                          ts_ms = signal timestamp
  Incident           incident id                        ts_ms = created_at
  Job                `<namespace>/<name>` (an Airflow DAG `airflow/<dag_id>`, its task `airflow/<dag_id>.<task_id>`)
  DAGRun, JobRun     run id                             ts_ms = start
  Topology           topology id (a Kafka Streams application.id, a Flink job)    props: version (last seen)
  Processor          `<topology id>/<processor node>`                        props: version, last_seen
Edges are (src id, type, dst id) with props; MERGE semantics: writing the same node or edge again
updates its props (merged key by key), never duplicates it.
"""

from __future__ import annotations

from typing import Any

import msgspec

SERVICE = "Service"
DEPLOYMENT = "Deployment"
DATASET = "Dataset"
FAILURE_SIGNATURE = "FailureSignature"
SIGNAL = "Signal"
INCIDENT = "Incident"
JOB = "Job"
DAG_RUN = "DAGRun"
JOB_RUN = "JobRun"
TOPOLOGY = "Topology"
PROCESSOR = "Processor"
NODE_KINDS = (SERVICE, DEPLOYMENT, DATASET, FAILURE_SIGNATURE, SIGNAL, INCIDENT, JOB, DAG_RUN, JOB_RUN, TOPOLOGY,
              PROCESSOR)

INTRODUCED = "INTRODUCED"            # Deployment -> FailureSignature
CAUSED = "CAUSED"                    # FailureSignature -> Signal
AFFECTS = "AFFECTS"                  # Signal -> Dataset
TRIGGERED = "TRIGGERED"              # Signal -> Incident
OWNED_BY = "OWNED_BY"                # Dataset -> Service
FEEDS = "FEEDS"                      # Dataset -> Dataset (props: type, job)
READ_FROM = "READ_FROM"              # JobRun -> Dataset
WROTE_TO = "WROTE_TO"                # JobRun -> Dataset
EXECUTED = "EXECUTED"                # DAGRun -> JobRun
ENCOUNTERED = "ENCOUNTERED"          # JobRun -> FailureSignature
PRODUCED_DRIFT = "PRODUCED_DRIFT"    # Service -> FailureSignature (first evidence, timestamp)
INTRODUCED_DRIFT = "INTRODUCED_DRIFT"  # Dataset -> FailureSignature
DEPLOYED = "DEPLOYED"                # Service (or Topology) -> Deployment (so its deploys can be listed)
PART_OF = "PART_OF"                  # Processor -> Topology
CONSUMES = "CONSUMES"                # Processor -> Dataset it reads (its evidence's source topic, chain topics)
PRODUCES = "PRODUCES"                # Processor -> Dataset its evidence is about (what it writes)
HAS_TASK = "HAS_TASK"                # Job (Airflow DAG) -> Job (its task); tasks also READ_FROM / WROTE_TO datasets
EDGE_TYPES = (INTRODUCED, CAUSED, AFFECTS, TRIGGERED, OWNED_BY, FEEDS, READ_FROM, WROTE_TO, EXECUTED, ENCOUNTERED,
              PRODUCED_DRIFT, INTRODUCED_DRIFT, DEPLOYED, PART_OF, CONSUMES, PRODUCES, HAS_TASK)



class Node(msgspec.Struct, omit_defaults=True):
    kind: str
    key: str
    props: dict[str, Any] = msgspec.field(default_factory=dict)
    ts_ms: int | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}"


class Edge(msgspec.Struct, omit_defaults=True):
    src: str
    type: str
    dst: str
    props: dict[str, Any] = msgspec.field(default_factory=dict)


def node_id(kind: str, key: str) -> str:
    return f"{kind}:{key}"


def split_id(nid: str) -> tuple[str, str]:
    kind, _, key = nid.partition(":")
    return kind, key


def signature_key(reason_code: str, dataset_urn: str) -> str:
    return f"{reason_code}@{dataset_urn}"


def deployment_key(service: str, version: str) -> str:
    return f"{service}:{version}"


def processor_key(topology_id: str, processor_node: str) -> str:
    return f"{topology_id}/{processor_node}"
