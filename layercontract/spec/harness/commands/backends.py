"""layercontract backends: every known backend and where it comes from (built-in, or the
entry point "layercontract.backends" of an installed distribution)."""

from layercontract.spec.harness import registry

HELP = "list the known backends and where each comes from"


def add_arguments(parser):
    pass


def run(args) -> int:
    known = registry.discover()
    width = max(len(k.name) for k in known) + 2
    source_width = max(len(k.source) for k in known) + 2
    for k in known:
        line = f"{k.name:<{width}}{k.source:<{source_width}}{k.spec}"
        print(line + (f"  [{k.problem}]" if k.problem else ""))
    print(
        f"(any other adapter: --backend package.module:AdapterClass; "
        f"installed adapters register in the entry-point group {registry.ENTRY_POINT_GROUP!r})"
    )
    return 0
