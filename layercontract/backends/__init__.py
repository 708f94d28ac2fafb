"""Backend adapters shipped with layercontract, written against spec/harness/adapter_contract.py."""
