"""OpenLineage events in (RunEvent, DatasetEvent, JobEvent): run store, catalog, lineage graph and
batch-run signals (seed 2.2, Scenario 2 Steps 2-7); Marquez's read API out (docs/lineage.md).

    mapping = load_mapping(config_dir)                      # optional lineage.yaml
    result = LineageIngest(replay_service, mapping).ingest(parse_event(body))
    LineageReader(store).job("spark", "orders_silver_transform")   # Marquez's Job shape

Modules: `model` (the events, parsing), `facets` (reading facets), `mapping` (dataset -> URN),
`plan` (pure: event -> graph changes, run record, batch totals, DQ checks), `runs` (the run store),
`catalog` (jobs and datasets with their facets), `service` (ingest), `marquez` (pure: Marquez's
shapes), `reads` (what the API and CLI read back).
"""
