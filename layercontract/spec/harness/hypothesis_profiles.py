"""The hypothesis profiles of layercontract runs, registered at import so that
`--hypothesis-profile` finds them."""

from hypothesis import HealthCheck, Phase, settings

DEFAULT_HYPOTHESIS_PROFILE = "ci"

#   ci        the default (pyproject addopts, so .ci/run and `layercontract run`): derandomized,
#             the same examples on every run of one backend; no example database, so a CI run
#             writes nothing to disk. Not yet the same on every backend: hypothesis also draws
#             from the literals of the local modules a process has imported (not site-packages),
#             and the reference, the Keras adapters, a fault run and a wheel install import
#             different ones.
#   dev       quick local runs: few random examples; failing examples are kept in hypothesis's
#             database (the user cache directory, or $HYPOTHESIS_STORAGE_DIRECTORY) and replayed
#             first on the next run.
#   thorough  scheduled runs: 10x ci's examples, random; vary them with --hypothesis-seed=N.
#   faults    fault runs of tests/reference_impl/test_faults.py: ci's examples, no shrinking or explaining (only
#             whether a check fails matters there, and shrinking is most of a failing check's time).
# All: no deadline (framework warm-up is slow), print_blob to reproduce a failure.
CI_EXAMPLES = 25
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.differing_executors]
settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
# derandomize=False is explicit: hypothesis defaults it to True when it detects CI (CI=true).
settings.register_profile(
    "dev", max_examples=10, derandomize=False, deadline=None, print_blob=True, suppress_health_check=_SUPPRESSED
)
settings.register_profile(
    "thorough",
    max_examples=10 * CI_EXAMPLES,
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
settings.register_profile(
    "faults", settings.get_profile("ci"), phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
)
