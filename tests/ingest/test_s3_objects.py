"""S3 object ingest against a real S3-compatible server (moto in server mode): every notification shape,
JSONL / CSV / Parquet, one evidence per row through all five gates, stable ids on redelivery, malformed input
as FAIL evidence."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_plus

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.controlplane.objects import ObjectRoute
from signal_factory.enforcer.pipeline import Enforcer
from signal_factory.errors import SignalFactoryError
from signal_factory.ingest.s3 import S3ObjectIngester, S3TransportError, parse_notification, poll_sqs
from signal_factory.model.evidence import UNRESOLVED_DATASET, Evidence, encode_evidence
from signal_factory.runtime.replay import ReplayService
from signal_factory.stores.memory import MemoryStore
from tests.conftest import envelope, order_payload, record, without_sampling
from tests.contracts.conformance_cases import CASES, WORLD_CASES, Case, conformance_world, records

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

pytestmark = pytest.mark.slow

BUCKET = "landing"
URN = "urn:dp:orders:created"
MAPPING = {f"s3://{BUCKET}/orders/": URN, f"{BUCKET}/orders/silver/": "urn:dp:orders:silver"}  # s3.yaml's, as Python
EVENT_TIME = "2024-01-15T10:00:00.123Z"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> Any:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def ingester(control_plane: ControlPlane, s3: Any) -> S3ObjectIngester:
    """The ingester as examples/orders/s3.yaml routes objects (landing/orders/, landing/orders/silver/)."""
    return S3ObjectIngester(control_plane, None, s3)


def _put(s3: Any, key: str, body: bytes, content_type: str | None = None) -> str:
    extra = {"ContentType": content_type} if content_type else {}
    response = s3.put_object(Bucket=BUCKET, Key=key, Body=body, **extra)
    return str(response["ETag"]).strip('"')


def _jsonl(rows: list[Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    cols = ["order_id", "customer_id", "total_amount", "currency", "created_at", "discount_type"]
    lines = [",".join(cols)] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


def s3_event(key: str, etag: str | None, bucket: str = BUCKET, name: str = "ObjectCreated:Put") -> dict[str, Any]:
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": 10, "sequencer": "0055AED6DCD90281E5"}
    if etag is not None:
        obj["eTag"] = etag
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                         "eventTime": EVENT_TIME, "eventName": name,
                         "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                "object": obj}}]}


def sqs_direct(key: str, etag: str | None) -> str:
    return json.dumps(s3_event(key, etag))


def direct(key: str, etag: str | None) -> bytes:
    return json.dumps(s3_event(key, etag)).encode()


def sns_wrapped(key: str, etag: str | None) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                       "Subject": "Amazon S3 Notification", "Message": json.dumps(s3_event(key, etag)),
                       "Timestamp": EVENT_TIME})


def eventbridge(key: str, etag: str | None) -> str:
    obj: dict[str, Any] = {"key": key, "size": 10, "sequencer": "0055AED6DCD90281E5"}
    if etag is not None:
        obj["etag"] = etag
    return json.dumps({"version": "0", "id": "e-1", "detail-type": "Object Created", "source": "aws.s3",
                       "account": "111122223333", "time": "2024-01-15T10:00:00Z", "region": "us-east-1",
                       "resources": [f"arn:aws:s3:::{BUCKET}"],
                       "detail": {"version": "0", "bucket": {"name": BUCKET}, "object": obj,
                                  "reason": "PutObject"}})


SHAPES: dict[str, Callable[[str, str | None], bytes | str]] = {
    "direct": direct, "sqs-direct": sqs_direct, "sns-wrapped": sns_wrapped, "eventbridge": eventbridge}


def _one(evidence: list[Evidence]) -> Evidence:
    assert len(evidence) == 1
    return evidence[0]


def _gate(ev: Evidence, gate: str) -> Any:
    return next(g for g in ev.validation.gates if g.gate == gate)


def _verdicts(evidence: list[Evidence]) -> list[tuple[str, list[str]]]:
    return [(e.validation.result, e.validation.reason_codes) for e in evidence]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_notification_shape_yields_the_same_evidence(ingester: S3ObjectIngester, s3: Any, shape: str) -> None:
    """Direct, SQS, SNS-in-SQS and EventBridge deliveries of one object give one evidence per row, same ids."""
    key = "orders/2024/01/15/batch 1.jsonl"  # a space: URL-encoded in S3 events
    etag = _put(s3, key, _jsonl([order_payload(), order_payload(order_id="ORD-2024-0115-2")]))
    got = ingester.handle_notification(SHAPES[shape](key, etag))
    reference = ingester.handle_notification(direct(key, etag))
    assert [e.evidence_id for e in got] == [e.evidence_id for e in reference]
    assert len(set(e.evidence_id for e in got)) == 2
    assert [(e.dataset_urn, e.validation.result) for e in got] == [(URN, "PASS")] * 2
    assert [(e.source.input_dataset, e.source.offset) for e in got if e.source] == \
        [(f"s3://{BUCKET}/{key}", 1), (f"s3://{BUCKET}/{key}", 2)]
    assert [g.gate for g in got[0].validation.gates] == \
        ["G1_RESOLUTION", "G2_IDENTITY", "G3_SCHEMA", "G4_CONTRACT", "G5_PII"]


def test_each_row_is_its_own_evidence_and_bad_rows_fail(ingester: S3ObjectIngester, s3: Any) -> None:
    """Each row is judged alone, in object order; a line that is not JSON is FAIL MALFORMED_ROW:json."""
    rows = [order_payload(), order_payload(customer_id=None), order_payload(customer_id=None, total_amount=-5),
            order_payload(discount_type="MYSTERY")]
    key = "orders/mixed.jsonl"
    etag = _put(s3, key, _jsonl(rows) + b"{not json\n")
    got = ingester.handle_notification(sqs_direct(key, etag))
    assert [r for r, _ in _verdicts(got)] == ["PASS", "FAIL", "FAIL", "WARN", "FAIL"]
    assert got[1].validation.reason_codes == ["MISSING_FIELD:customer_id"]
    assert "MISSING_FIELD:customer_id" in got[2].validation.reason_codes
    assert got[3].validation.reason_codes[0].startswith("UNKNOWN_ENUM:discount_type:")
    assert got[4].validation.reason_codes == ["MALFORMED_ROW:json"]
    assert got[4].dataset_urn == URN  # a bad row still counts against its dataset
    assert all(e.source and e.source.timestamp for e in got)  # windowed by the object's LastModified


def test_rows_go_through_the_pii_gate(ingester: S3ObjectIngester, s3: Any) -> None:
    """An SSN typed into a free-text column of an object is FAIL PII_DETECTED:notes:SSN, never the value."""
    key = "orders/pii.jsonl"
    etag = _put(s3, key, _jsonl([order_payload(notes="customer SSN 123-45-6789"), order_payload()]))
    got = ingester.handle_notification(direct(key, etag))
    assert _gate(got[0], "G5_PII").result == "FAIL"
    assert "PII_DETECTED:notes:SSN" in got[0].validation.reason_codes
    assert b"123-45-6789" not in encode_evidence(got[0])
    assert _gate(got[1], "G5_PII").result == "PASS"


def test_producer_identity_from_metadata_route_or_nothing(ingester: S3ObjectIngester, s3: Any,
                                                          control_plane: ControlPlane) -> None:
    """G2: the object's x-obs-producer-service metadata (HIGH), else s3.yaml's producer (MEDIUM), else WARN."""
    key = "orders/identified.jsonl"
    etag = s3.put_object(Bucket=BUCKET, Key=key, Body=_jsonl([order_payload()]),
                         Metadata={"x-obs-producer-service": "orders-export", "x-obs-producer-version": "v2"}
                         )["ETag"].strip('"')
    high = _one(ingester.handle_notification(direct(key, etag)))
    assert high.producer is not None
    assert (high.producer.id, high.producer.version, high.producer.confidence) == ("orders-export", "v2", "HIGH")
    plain_key = "orders/plain.jsonl"
    plain_etag = _put(s3, plain_key, _jsonl([order_payload()]))
    medium = _one(ingester.handle_notification(direct(plain_key, plain_etag)))
    assert medium.producer is not None
    assert (medium.producer.id, medium.producer.confidence) == ("orders-svc", "MEDIUM")
    unnamed = S3ObjectIngester(control_plane, {f"{BUCKET}/orders/": URN}, s3)  # a mapping without producer
    nobody = _one(unnamed.handle_notification(direct(plain_key, plain_etag)))
    assert _verdicts([nobody]) == [("WARN", ["UNKNOWN_PRODUCER:producer"])]


def test_csv_cells_are_typed_by_the_contract_and_warnings_warn(ingester: S3ObjectIngester, s3: Any) -> None:
    """CSV numbers pass the contract's number type; a warning-only row WARNs, bad cells FAIL their row."""
    key = "orders/export.csv"
    etag = _put(s3, key, _csv([order_payload(), order_payload(discount_type="MYSTERY")]))
    assert [r for r, _ in _verdicts(ingester.handle_notification(eventbridge(key, etag)))] == ["PASS", "WARN"]
    bad_key = "orders/export-bad.csv"
    bad_etag = _put(s3, bad_key, _csv([order_payload(total_amount="abc"), order_payload(currency="usd")]))
    assert [r for r, _ in _verdicts(ingester.handle_notification(sns_wrapped(bad_key, bad_etag)))] == ["FAIL", "FAIL"]


def test_parquet_objects_are_checked_row_by_row(ingester: S3ObjectIngester, s3: Any) -> None:
    """Parquet (by extension, or by content type without one) is read with pyarrow and checked per row."""
    good_key = "orders/part-0000.parquet"
    etag = _put(s3, good_key, _parquet([order_payload(), order_payload(order_id="ORD-2024-0115-7")]))
    assert [r for r, _ in _verdicts(ingester.handle_notification(direct(good_key, etag)))] == ["PASS", "PASS"]
    bad_key = "orders/part-0001"
    bad_etag = _put(s3, bad_key, _parquet([order_payload(total_amount=-1.0)]), "application/vnd.apache.parquet")
    assert _one(ingester.handle_notification(direct(bad_key, bad_etag))).validation.result == "FAIL"


def test_format_in_s3_yaml_overrides_the_extension(control_plane: ControlPlane, s3: Any) -> None:
    """A location whose format is csv reads a `.txt` object as CSV."""
    routes = (ObjectRoute(BUCKET, "exports/", URN, "csv", "orders-svc"),)
    cp = dataclasses.replace(control_plane, objects=routes)
    key = "exports/orders.txt"
    etag = _put(s3, key, _csv([order_payload()]))
    assert _verdicts(S3ObjectIngester(cp, None, s3).handle_notification(direct(key, etag))) == [("PASS", [])]


def test_empty_object_is_one_warning(ingester: S3ObjectIngester, s3: Any) -> None:
    """An object with no rows is one WARN EMPTY_OBJECT evidence, not silence."""
    key = "orders/empty.jsonl"
    etag = _put(s3, key, b"")
    assert _verdicts(ingester.handle_notification(direct(key, etag))) == [("WARN", ["EMPTY_OBJECT"])]


def test_redelivery_yields_the_same_ids_and_is_stored_once(ingester: S3ObjectIngester, s3: Any,
                                                           control_plane: ControlPlane) -> None:
    """Row ids are keyed by bucket/key/etag/row: a redelivered notification is skipped by the store."""
    key = "orders/redelivered.jsonl"
    etag = _put(s3, key, _jsonl([order_payload(customer_id=None), order_payload()]))
    first = ingester.handle_notification(sqs_direct(key, etag))
    again = ingester.handle_notification(eventbridge(key, etag))
    assert [e.evidence_id for e in first] == [e.evidence_id for e in again]
    store = MemoryStore()
    service = ReplayService(control_plane, store, Enforcer(control_plane))
    assert service.ingest_evidence(first).new_evidence == 2
    assert service.ingest_evidence(again).new_evidence == 0
    etag2 = _put(s3, key, _jsonl([order_payload()]))  # a new version is a new object
    assert etag2 != etag
    newer = _one(ingester.handle_notification(sqs_direct(key, etag2)))
    assert newer.evidence_id not in {e.evidence_id for e in first}
    assert newer.validation.result == "PASS"


@pytest.mark.parametrize(("body", "code"), [
    ("{not json", "MALFORMED_NOTIFICATION:json"),
    ('["a list"]', "MALFORMED_NOTIFICATION:shape"),
    ('{"hello": "world"}', "MALFORMED_NOTIFICATION:shape"),
    ('{"Type": "Notification", "Message": "not json"}', "MALFORMED_NOTIFICATION:json"),
    ('{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "landing"}}}]}',
     "MALFORMED_NOTIFICATION:key"),
    ('{"detail-type": "Object Created", "detail": {"object": {"key": "k"}}}', "MALFORMED_NOTIFICATION:bucket"),
])
def test_malformed_notifications_are_fail_evidence(ingester: S3ObjectIngester, body: str, code: str) -> None:
    """Bad notifications never raise: FAIL evidence with a MALFORMED_NOTIFICATION reason, stable id."""
    ev = _one(ingester.handle_notification(body))
    assert ev.validation.result == "FAIL"
    assert ev.validation.reason_codes == [code]
    assert ev.evidence_id == _one(ingester.handle_notification(body)).evidence_id
    assert ev.dataset_urn == UNRESOLVED_DATASET  # `landing` holds two datasets: not charged to either


def test_malformed_notification_is_charged_to_a_single_dataset_bucket(control_plane: ControlPlane, s3: Any) -> None:
    """When the bucket is known and holds one dataset, the FAIL is that dataset's."""
    single = S3ObjectIngester(control_plane, {f"{BUCKET}/": URN}, s3)
    body = '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "landing"}}}]}'
    assert _one(single.handle_notification(body)).dataset_urn == URN


@pytest.mark.parametrize(("key", "body", "content_type", "code"), [
    ("orders/missing.jsonl", None, None, "OBJECT_UNREADABLE:NoSuchKey"),
    ("orders/garbage.parquet", b"PAR1 definitely not parquet", None, "OBJECT_UNREADABLE:parquet"),
    ("orders/blob.bin", b"\x00\x01", "application/octet-stream", "OBJECT_UNREADABLE:format"),
    ("orders/latin1.csv", "order_id\ncafé\n".encode("latin-1"), None, "OBJECT_UNREADABLE:encoding"),
])
def test_unreadable_objects_are_fail_evidence(ingester: S3ObjectIngester, s3: Any, key: str, body: bytes | None,
                                              content_type: str | None, code: str) -> None:
    """A missing or unparseable object is FAIL evidence with an OBJECT_UNREADABLE reason."""
    etag = _put(s3, key, body, content_type) if body is not None else "0123"
    ev = _one(ingester.handle_notification(direct(key, etag)))
    assert ev.validation.result == "FAIL"
    assert ev.validation.reason_codes == [code]
    assert ev.dataset_urn == URN


def test_longest_prefix_wins_and_unmapped_objects_fail(ingester: S3ObjectIngester, s3: Any) -> None:
    """orders/silver/ maps to silver (longer prefix); a bucket nobody mapped is FAIL UNMAPPED_OBJECT."""
    key = "orders/silver/part.jsonl"
    etag = _put(s3, key, _jsonl([order_payload()]))
    assert _one(ingester.handle_notification(direct(key, etag))).dataset_urn == "urn:dp:orders:silver"
    assert ingester.dataset_for(BUCKET, "orders/x.csv") == URN
    other = json.dumps(s3_event("x.jsonl", "e", bucket="elsewhere"))
    ev = _one(ingester.handle_notification(other))
    assert ev.validation.reason_codes == ["UNMAPPED_OBJECT:elsewhere"]
    assert ev.dataset_urn == UNRESOLVED_DATASET


def test_other_events_and_test_events_are_skipped() -> None:
    """Deletes, s3:TestEvent and non-creation EventBridge events announce nothing to check."""
    assert parse_notification(json.dumps(s3_event("k", "e", name="ObjectRemoved:Delete"))) == []
    assert parse_notification('{"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "landing"}') == []
    assert parse_notification('{"detail-type": "Object Deleted", "detail": {}}') == []


def test_lambda_batches_of_sqs_records_are_unwrapped() -> None:
    """A Lambda SQS batch carries SNS-wrapped S3 events in Records[].body."""
    batch = {"Records": [{"eventSource": "aws:sqs", "body": sns_wrapped("orders/a+b.jsonl", "e1")},
                         {"eventSource": "aws:sqs", "body": sqs_direct("orders/c.jsonl", "e2")}]}
    refs = parse_notification(json.dumps(batch))
    assert [(r.key, r.etag) for r in refs] == [("orders/a+b.jsonl", "e1"), ("orders/c.jsonl", "e2")]  # type: ignore[union-attr]


def test_mapping_to_an_unknown_dataset_is_a_config_error(control_plane: ControlPlane, s3: Any) -> None:
    """The mapping is checked at construction, with the known datasets listed."""
    with pytest.raises(SignalFactoryError, match="known datasets"):
        S3ObjectIngester(control_plane, {"b/": "urn:dp:nope"}, s3)


def test_unreachable_endpoint_raises_a_transport_error(control_plane: ControlPlane) -> None:
    """An S3 endpoint that cannot be reached is infrastructure: it raises, so the message is redelivered."""
    from botocore.config import Config

    dead = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    with pytest.raises(S3TransportError, match="endpoint_url"):
        S3ObjectIngester(control_plane, MAPPING, dead).handle_notification(direct("orders/a.jsonl", "e"))


def test_sqs_poller_handles_and_deletes_messages(ingester: S3ObjectIngester, s3: Any, s3_endpoint: str) -> None:
    """poll_sqs receives SNS-wrapped and direct notifications from a real SQS queue, emits, then deletes."""
    sqs = boto3.client("sqs", endpoint_url=s3_endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    queue_url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    key = "orders/queued.jsonl"
    etag = _put(s3, key, _jsonl([order_payload()]))
    sqs.send_message(QueueUrl=queue_url, MessageBody=sns_wrapped(key, etag))
    sqs.send_message(QueueUrl=queue_url, MessageBody="{garbage")
    got: list[Evidence] = []
    rounds = iter(range(3))
    handled = poll_sqs(sqs, queue_url, ingester, got.extend, stop=lambda: next(rounds, None) is None, wait_s=0)
    assert handled == 2
    assert sorted(e.validation.result for e in got) == ["FAIL", "PASS"]
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> ControlPlane:
    """The example control plane plus datasets for the every-rule conformance contracts, without sampling."""
    return without_sampling(load_control_plane(conformance_world(tmp_path_factory.mktemp("s3") / "world")))


_NOT_CONTENT = ("UNKNOWN_PRODUCER", "UNKNOWN_TOPIC", "CLOCK_SKEW")  # identity, routing and clock, not the row


def _content_view(ev: Evidence) -> tuple[list[tuple[str, str]], list[str]]:
    """What the record itself decides: G3-G5 results and the reason codes they gave."""
    gates = [(g.gate, g.result) for g in ev.validation.gates if g.gate in ("G3_SCHEMA", "G4_CONTRACT", "G5_PII")]
    return gates, [c for c in ev.validation.reason_codes if not c.startswith(_NOT_CONTENT)]


@pytest.mark.parametrize("case", [c for c in CASES if c.name in WORLD_CASES], ids=lambda c: c.name)
def test_same_verdicts_as_the_stream_enforcer_on_seeded_records(world: ControlPlane, s3: Any, case: Case) -> None:
    """200 seeded records (every per-record rule of the contract broken somewhere) as one JSONL object: row by
    row, the same G3-G5 results and reason codes as the stream enforcer gives each as a record."""
    urn, topic = WORLD_CASES[case.name]
    rows = [{k: v for k, v in r.items() if k != "_row"} for r in records(case, 200, seed=15)]
    headers = {"x-obs-producer-service": "orders-svc"}  # no schema id: G3 uses the dataset's, as S3 does
    stream = Enforcer(world).process([record(envelope(r), topic=topic, offset=i, headers=headers)
                                      for i, r in enumerate(rows)]).evidence
    assert len(stream) == len(rows)
    key = f"{urn.split(':')[-1]}/conformance.jsonl"
    ingester = S3ObjectIngester(world, {f"{BUCKET}/{urn.split(':')[-1]}/": urn}, s3)
    got = ingester.handle_notification(direct(key, _put(s3, key, _jsonl(rows))))
    assert [_content_view(e) for e in got] == [_content_view(e) for e in stream]
    results = [e.validation.result for e in stream]
    assert min(results.count("FAIL"), results.count("PASS")) > 0
