"""layercontract's specification: numbered clauses (clauses.toml) and the harness that checks them."""
