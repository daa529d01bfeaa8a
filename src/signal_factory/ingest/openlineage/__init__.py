"""OpenLineage RunEvents in: run store, lineage graph and batch-run signals (seed 2.2, Scenario 2 Steps 2-7).

    mapping = load_mapping(config_dir)                      # optional lineage.yaml
    result = LineageIngest(replay_service, mapping).ingest(parse_run_event(body))

Modules: `model` (the event, parsing), `facets` (reading facets), `mapping` (dataset -> URN),
`plan` (pure: event -> graph changes, run record, batch totals), `runs` (the run store), `service`.
"""
