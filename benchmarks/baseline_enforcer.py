"""The obvious way: the same five checks written the way most of us would write them first.

Used only as a yardstick by `bench_enforcer.py`. Per record it does:
  * `json.loads` of the kcat line, then `json.loads` of the value (the raw-event envelope);
  * G1 topic -> dataset from topics.yaml, G2 producer from the headers (else the topic's owner);
  * G3 `jsonschema.Draft7Validator` (created once) with `iter_errors` on the payload;
  * G4 the ODCS contract interpreted from the parsed YAML dict on every record (loop over the
    properties; required / logicalType / enum from quality rules / pattern via `re.match(pattern_string)`
    / format / length / range, nested items);
  * G5 every string value of payload and metadata (contract-classified fields skipped) through six
    PII regexes with `re.search(pattern_string, ...)`, plus a Luhn check for card numbers;
  * evidence as a dict with a `uuid4` id, serialised with `json.dumps`.

It returns the same PASS / WARN / FAIL verdict as `signal_factory.enforcer.Enforcer` on the data of
`gen_orders.py` (the bench asserts it), but it is not a drop-in replacement: messages, details and
edge cases (wire format, registry outages, malformed lines) are deliberately not handled.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml

PII_PATTERNS = (
    ("SSN", r"\b\d{3}-\d{2}-\d{4}\b"),
    ("CREDIT_CARD", r"\b\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,4}\b"),
    ("IBAN", r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b"),
    ("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    ("PHONE", r"(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"),
    ("IP_ADDRESS", r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
)
FORMATS = {"email": r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"}
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "timestamp": (str, int), "date": (str,),
}
WARN_WORDS = {"warning", "warn", "info", "minor", "low"}
PII_CLASSES = {"pii", "restricted", "confidential", "sensitive", "personal", "spi"}


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _severity(word: Any) -> str:
    return "WARN" if isinstance(word, str) and word.strip().lower() in WARN_WORDS else "FAIL"


class BaselineEnforcer:
    """The five gates, the obvious way. `process_line(bytes) -> (verdict, evidence JSON text)`."""

    def __init__(self, root: Path | str) -> None:
        root = Path(root)
        topics = yaml.safe_load((root / "topics.yaml").read_text())["topics"]
        datasets = yaml.safe_load((root / "datasets.yaml").read_text())["datasets"]
        self.topics = {t["topic"]: t for t in topics}
        self.datasets = {d["urn"]: d for d in datasets}
        self.contracts: dict[str, dict[str, Any]] = {}
        for path in sorted((root / "contracts").glob("*.yaml")):
            doc = yaml.safe_load(path.read_text())
            self.contracts[doc["id"]] = doc
        self.validators: dict[str, jsonschema.Draft7Validator] = {}
        for path in sorted((root / "schemas").glob("*.json")):
            schema = json.loads(path.read_text())
            self.validators[schema["$id"]] = jsonschema.Draft7Validator(schema)

    # -- gates ---------------------------------------------------------------------------------
    def _check_prop(self, prop: dict[str, Any], value: Any, prefix: str, out: list[tuple[str, str]]) -> None:
        name = prefix + prop["name"]
        sev = "FAIL"
        for cp in prop.get("customProperties") or []:
            if cp.get("property") == "severity":
                sev = _severity(cp.get("value"))
        valid_values = None
        enum_sev = "FAIL"
        required = bool(prop.get("required"))
        for q in prop.get("quality") or []:
            metric = q.get("metric") or q.get("rule")
            if metric in ("invalidValues", "validValues"):
                valid_values = (q.get("arguments") or {}).get("validValues")
                enum_sev = _severity(q.get("severity"))
            elif metric in ("nullValues", "missingValues") and q.get("mustBe") in (0, "0"):
                required = True
        if prop.get("enum"):
            valid_values = prop["enum"]
        if value is None:
            if required:
                out.append((sev, f"MISSING_FIELD:{name}"))
            return
        logical = (prop.get("logicalType") or "").lower()
        allowed = TYPES.get(logical)
        if allowed is not None:
            ok = isinstance(value, allowed) and not (isinstance(value, bool) and logical != "boolean")
            if ok and logical == "timestamp" and isinstance(value, str):
                try:
                    datetime.fromisoformat(value)
                except ValueError:
                    ok = False
            if not ok:
                out.append((sev, f"TYPE_MISMATCH:{name}"))
                return
        if valid_values is not None and value not in valid_values:
            out.append((enum_sev, f"UNKNOWN_ENUM:{name}:{value}"))
        opts = prop.get("logicalTypeOptions") or {}
        if isinstance(value, str):
            if "pattern" in opts and re.match(opts["pattern"], value) is None:
                out.append((sev, f"PATTERN_MISMATCH:{name}"))
            fmt = opts.get("format")
            if fmt in FORMATS and re.match(FORMATS[fmt], value) is None:
                out.append((sev, f"INVALID_FORMAT:{name}"))
            if ("minLength" in opts and len(value) < opts["minLength"]) or (
                    "maxLength" in opts and len(value) > opts["maxLength"]):
                out.append((sev, f"LENGTH_OUT_OF_RANGE:{name}"))
        elif isinstance(value, int | float) and not isinstance(value, bool) and (
                ("minimum" in opts and value < opts["minimum"])
                or ("maximum" in opts and value > opts["maximum"])):
            out.append((sev, f"OUT_OF_RANGE:{name}"))
        if logical == "object" and isinstance(value, dict):
            for child in prop.get("properties") or []:
                self._check_prop(child, value.get(child["name"]), name + ".", out)
        if logical == "array" and isinstance(value, list) and (prop.get("items") or {}).get("properties"):
            for element in value:
                for child in prop["items"]["properties"]:
                    got = element.get(child["name"]) if isinstance(element, dict) else None
                    self._check_prop(child, got, name + "[].", out)

    def _classified(self, props: list[dict[str, Any]], prefix: str = "") -> set[str]:
        out: set[str] = set()
        for prop in props:
            name = prefix + prop["name"]
            if str(prop.get("classification") or "").lower() in PII_CLASSES:
                out.add(name)
            out |= self._classified(prop.get("properties") or [], name + ".")
            out |= self._classified((prop.get("items") or {}).get("properties") or [], name + "[].")
        return out

    def _pii(self, node: Any, path: str, classified: set[str], out: list[tuple[str, str]]) -> None:
        if path in classified:
            return
        if isinstance(node, dict):
            for k, v in node.items():
                self._pii(v, f"{path}.{k}" if path else k, classified, out)
        elif isinstance(node, list):
            for v in node:
                self._pii(v, f"{path}[]", classified, out)
        elif isinstance(node, str):
            for kind, pattern in PII_PATTERNS:
                m = re.search(pattern, node)
                if m is None:
                    continue
                if kind == "CREDIT_CARD" and not _luhn(re.sub(r"\D", "", m.group())):
                    continue
                out.append((path or "$", kind))
                break

    # -- one record ----------------------------------------------------------------------------
    def process_line(self, line: bytes) -> tuple[str, str]:
        rec = json.loads(line)
        headers_list = rec.get("headers") or []
        headers = {headers_list[i].lower(): headers_list[i + 1] for i in range(0, len(headers_list), 2)}
        gates: list[dict[str, Any]] = []
        codes: list[tuple[str, str]] = []  # (severity, reason code)

        mapping = self.topics.get(rec["topic"])
        dataset = self.datasets.get(mapping["dataset"]) if mapping else None
        if dataset is None:
            gates.append({"gate": "G1_RESOLUTION", "result": "FAIL"})
            codes.append(("FAIL", f"UNKNOWN_TOPIC:{rec['topic']}"))
        else:
            gates.append({"gate": "G1_RESOLUTION", "result": "PASS", "details": {"dataset_urn": dataset["urn"]}})

        producer = headers.get("x-obs-producer-service") or (mapping or {}).get("producer")
        if producer:
            gates.append({"gate": "G2_IDENTITY", "result": "PASS", "details": {"producer": producer}})
        else:
            gates.append({"gate": "G2_IDENTITY", "result": "WARN", "reason_code": "UNKNOWN_PRODUCER:producer"})
            codes.append(("WARN", "UNKNOWN_PRODUCER:producer"))

        value = json.loads(rec["payload"])
        payload = value.get("payload", value)
        metadata = value.get("metadata")
        schema_id = headers.get("x-obs-schema-id") or (dataset or {}).get("schema")
        validator = self.validators.get(schema_id or "")
        if validator is None:
            gates.append({"gate": "G3_SCHEMA", "result": "FAIL", "reason_code": f"UNKNOWN_SCHEMA:{schema_id}"})
            codes.append(("FAIL", f"UNKNOWN_SCHEMA:{schema_id}"))
        else:
            errors = list(validator.iter_errors(payload))
            if errors:
                err = errors[0]
                field = ".".join(str(p) for p in err.path) or "$"
                gates.append({"gate": "G3_SCHEMA", "result": "FAIL",
                              "reason_code": f"SCHEMA_VIOLATION:{field}", "details": {"rule": err.validator}})
                codes.append(("FAIL", f"SCHEMA_VIOLATION:{field}"))
            else:
                gates.append({"gate": "G3_SCHEMA", "result": "PASS", "details": {"schema_id": schema_id}})

        contract = self.contracts.get((dataset or {}).get("contract") or "")
        classified: set[str] = set()
        if contract is None:
            gates.append({"gate": "G4_CONTRACT", "result": "SKIP"})
        else:
            props = contract["schema"][0]["properties"]
            classified = self._classified(props)
            violations: list[tuple[str, str]] = []
            if isinstance(payload, dict):
                for prop in props:
                    self._check_prop(prop, payload.get(prop["name"]), "", violations)
            else:
                violations.append(("FAIL", "TYPE_MISMATCH:$"))
            violations.sort(key=lambda v: v[0] != "FAIL")
            if violations:
                gates.append({"gate": "G4_CONTRACT", "result": violations[0][0],
                              "reason_code": violations[0][1], "details": {"contract_id": contract["id"]}})
                codes.extend(violations)
            else:
                gates.append({"gate": "G4_CONTRACT", "result": "PASS", "details": {"contract_id": contract["id"]}})

        findings: list[tuple[str, str]] = []
        self._pii(payload, "", classified, findings)
        if isinstance(metadata, dict):
            self._pii(metadata, "metadata", set(), findings)
        if findings:
            gates.append({"gate": "G5_PII", "result": "FAIL", "details": {
                "pii_detected": True, "findings": [{"field": f, "pii_type": k} for f, k in findings]}})
            codes.extend(("FAIL", f"PII_DETECTED:{f}:{k}") for f, k in findings)
        else:
            gates.append({"gate": "G5_PII", "result": "PASS", "details": {"pii_detected": False}})

        severities = {s for s, _ in codes}
        verdict = "FAIL" if "FAIL" in severities else "WARN" if "WARN" in severities else "PASS"
        ts = rec.get("ts")
        evidence = {
            "evidence_id": f"evd-{uuid.uuid4()}",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "dataset_urn": dataset["urn"] if dataset else "urn:dp:signal_factory:unresolved",
            "producer": {"id": producer or "UNKNOWN", "version": headers.get("x-obs-producer-version")},
            "validation": {"result": verdict, "gates": gates,
                           "failed_gates": [g["gate"] for g in gates if g["result"] == "FAIL"],
                           "reason_codes": list(dict.fromkeys(c for _, c in codes))},
            "source": {"topic": rec["topic"], "partition": rec.get("partition"), "offset": rec.get("offset"),
                       "timestamp": datetime.fromtimestamp(ts / 1000, UTC).isoformat(
                           timespec="milliseconds").replace("+00:00", "Z") if ts is not None else None},
            "otel": {"trace_id": headers.get("x-obs-trace-id")},
        }
        return verdict, json.dumps(evidence)

    def process(self, lines: list[bytes]) -> tuple[list[str], bytes]:
        """(verdict per line, evidence as JSON lines)."""
        verdicts: list[str] = []
        out: list[str] = []
        for line in lines:
            verdict, text = self.process_line(line)
            verdicts.append(verdict)
            out.append(text)
        return verdicts, ("\n".join(out) + "\n").encode()
