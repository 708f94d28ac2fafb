"""A deliberately deviating adapter for the harness's own tests, importable in subprocesses as
`tests.deviating_adapter_for_tests:<Class>` (the project root is the working directory): the
reference backend with one realistic bug switched on and no expectations file of its own, as a
new adapter's author has before writing one (tests/test_expectations_draft.py drafts it)."""

from layercontract.reference_impl.faults._machinery import FaultyReference


class BuildsEveryCall(FaultyReference):
    """`build` runs on every call (the reference fault build_runs_every_call)."""

    expectations = None

    def __init__(self):
        super().__init__("build_runs_every_call")
        self.name = "builds-every-call"
