"""layercontract backends: the known backends and where each comes from."""
from spec.harness import registry

HELP = "list the known backends"


def add_arguments(parser):
    pass


def run(args) -> int:
    for name, spec in registry.known_backends().items():
        print(f"{name:<20} {spec}")
    print("(any other adapter: --backend package.module:AdapterClass)")
    return 0
