"""The Policy Enforcer's five gates. Each is pure: record facts in, a `GateResult` out."""
