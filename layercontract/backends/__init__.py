"""Backend adapters shipped with layercontract, written against spec/harness/backend.py."""
