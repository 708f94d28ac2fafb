# layercontract's pytest plugins: the harness (backend, clauses, expectations) and the run record.
pytest_plugins = ["spec.harness.plugin", "reports.record"]
