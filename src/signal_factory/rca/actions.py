"""What a failure signature means in words, and what to do about a cause. Deterministic templates."""

from __future__ import annotations

from signal_factory.rca.lookups import Deployment, clock, signature_parts

_WHAT = {
    "MISSING_FIELD": "stopped populating the required `{field}` field",
    "UNKNOWN_ENUM": "emits a `{field}` value {value} that the contract does not list",
    "TYPE_MISMATCH": "sends `{field}` with the wrong type",
    "INVALID_FORMAT": "writes `{field}` in an invalid format",
    "PATTERN_MISMATCH": "writes `{field}` values that do not match the contract's pattern",
    "OUT_OF_RANGE": "sends `{field}` values outside the contract's range",
    "LENGTH_OUT_OF_RANGE": "sends `{field}` values of a length outside the contract's limits",
    "EMPTY_VALUE": "sends an empty `{field}`",
    "PII_DETECTED": "leaks {value} data in `{field}`",
    "SCHEMA_MISMATCH": "sends records that no longer match the schema",
    "MALFORMED_PAYLOAD": "sends payloads that cannot be decoded",
    "UNKNOWN_SCHEMA": "names a schema the registry does not have",
}

_SHORT = {
    "MISSING_FIELD": "missing {field}",
    "UNKNOWN_ENUM": "with {field}={value}",
    "TYPE_MISMATCH": "with a mistyped {field}",
    "PII_DETECTED": "with {value} in {field}",
}


def what_changed(reason_code: str) -> str:
    """`MISSING_FIELD:customer_id` -> 'stopped populating the required `customer_id` field'."""
    kind, field, value = signature_parts(reason_code)
    template = _WHAT.get(kind)
    if template is None or (field is None and "{field}" in template):
        return f"produces records failing {reason_code}"
    shown = f'"{value}"' if kind == "UNKNOWN_ENUM" and value else (value or "")
    return template.format(field=field, value=shown or "an unlisted")


def failing_records(reason_code: str) -> str:
    """`MISSING_FIELD:customer_id` -> 'missing customer_id' (for 'N of M events (x%) ...')."""
    kind, field, value = signature_parts(reason_code)
    template = _SHORT.get(kind)
    if template is None or field is None:
        return f"failing {reason_code}"
    return template.format(field=field, value=value or "?")


def deployment_actions(culprit: Deployment, previous: Deployment | None, dataset_urn: str,
                       reason_code: str, *, what: str | None = None) -> list[str]:
    """Roll back, verify, investigate; `what` says what the culprit does (default: from `reason_code`)."""
    if previous is not None:
        rollback = (f"Roll back {culprit.service} to {previous.version} "
                    f"(deployed {clock(previous.deployed_ms, with_date=True)} UTC)")
    else:
        rollback = (f"Roll back {culprit.service} to the version before {culprit.version} "
                    f"(no earlier deployment of it in the graph)")
    commit = f" (commit {culprit.commit})" if culprit.commit else ""
    return [
        rollback,
        f"After rollback, verify new evidence for {dataset_urn} shows PASS",
        f"Investigate the {culprit.version} changes{commit}: find why it {what or what_changed(reason_code)}",
    ]


def drift_actions(reason_code: str, *, service: str | None, jobs: list[str], runs: list[str],
                  partitions: list[str], owner: str | None) -> list[str]:
    _, field, value = signature_parts(reason_code)
    where = " and in " + ", ".join(jobs) if jobs else ""
    if value and field:
        first = f'Add "{value}" to the accepted values of `{field}` in the contract{where}'
    else:
        first = f"Update the contract{where} to accept what {reason_code} rejects, or fix the producer"
    rerun = ", ".join(partitions) or "the affected partition"
    second = f"Reprocess {rerun}" + (f" (rerun {', '.join(runs)})" if runs else "")
    team = f"{owner} ({service})" if owner and service else service or owner or "the producer team"
    third = f"Coordinate with {team} to document the new `{field}` values" if field \
        else f"Coordinate with {team} about the change"
    fourth = f"Add a contract test in CI for `{field}` values" if field else "Add a contract test in CI"
    return [first, second, third, fourth + (f" in {service}" if service else "")]


def unknown_actions(reason_code: str, dataset_urn: str, producer: str | None, evidence_id: str | None) -> list[str]:
    look = f"Inspect the primary evidence {evidence_id}" if evidence_id else "Inspect the failing evidence"
    actions = [f"{look} for {reason_code} on {dataset_urn}",
               "Check changes the graph cannot see: configuration, feature flags, upstream data, manual fixes"]
    if producer:
        actions.append(f"Ask the {producer} team what changed before the first failure")
    actions.append("Record deployments as markers so the next RCA can weigh them")
    return actions


def arrival_actions(culprit: Deployment, previous: Deployment | None, dataset_urn: str, kind: str) -> list[str]:
    """A deployment that cut a dataset's volume or stalled it: roll back, check the records flow, find why."""
    rollback = deployment_actions(culprit, previous, dataset_urn, kind)[0]
    what = "records arrive" if kind == "FRESHNESS_BREACH" else "records per minute are back to the usual level"
    commit = f" (commit {culprit.commit})" if culprit.commit else ""
    why = "stop sending records" if kind == "FRESHNESS_BREACH" else "change how many records it sends"
    return [rollback, f"After rollback, verify {what} on {dataset_urn}",
            f"Investigate the {culprit.version} changes{commit}: find why it would {why} (crash loop, "
            f"failed publishes, a filter, a config change)"]


def arrival_unknown_actions(dataset_urn: str, producers: list[str], upstream: list[str]) -> list[str]:
    who = ", ".join(producers) or "its producers"
    actions = [f"Check {who} for errors, restarts and publish failures around the onset on {dataset_urn}"]
    if upstream:
        actions.append(f"Check the upstream producers and jobs ({', '.join(upstream)})")
    actions += ["Check changes the graph cannot see: configuration, feature flags, traffic, manual fixes",
                "Record deployments as markers so the next RCA can weigh them"]
    return actions
