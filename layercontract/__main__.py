"""`python -m layercontract ...` is the `layercontract` command."""

from layercontract.spec.harness.cli import main

raise SystemExit(main())
