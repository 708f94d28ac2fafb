"""The adapter contract's static checks, shared by `layercontract doctor` and the pytest plugin
(which runs them before any test: a broken adapter is one error, never a run of failures).

    check_attributes(adapter, report)   name, edition, capabilities, methods
    check_namespace(namespace, caps, report)   what load() returned: the names the suites use
    check_namespace_behaviour(adapter, namespace, caps, report, step)   each name called as the
                                        suites call it (NAMESPACE_MEANING), by doctor

`report` collects (ok, text) pairs; `problems(...)` gives the failed ones only.
"""

from __future__ import annotations

import dataclasses
import pathlib

from layercontract.spec.harness import adapter_contract as contract


@dataclasses.dataclass
class Report:
    checks: list[tuple[bool, str]] = dataclasses.field(default_factory=list)
    sink: object = None  # called with (ok, what) as each check is made (doctor's child process)

    def ok(self, what):
        self._add(True, what)

    def problem(self, what):
        self._add(False, what)

    def _add(self, ok, what):
        self.checks.append((ok, what))
        if self.sink is not None:
            self.sink(ok, what)

    @property
    def problems(self) -> list[str]:
        return [what for ok, what in self.checks if not ok]


def describe(e: BaseException) -> str:
    """One line for an exception: its type and (shortened) message."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


class AdapterFault(Exception):
    """An adapter method that broke its contract (one line); run and doctor say the same."""


def adapter_versions(adapter) -> dict:
    """adapter.versions() as {str: str}: the one check `run` (before any test) and `doctor`
    share. AdapterFault when it raises, returns anything else or lacks the adapter's declared
    key_distribution."""
    try:
        versions = adapter.versions()
    except Exception as e:
        raise AdapterFault(f"versions() raised {describe(e)}") from None
    versions = versions_problem_free(versions)
    problem = key_distribution_problem(adapter, versions)
    if problem:
        raise AdapterFault(problem)
    return versions


def versions_problem_free(versions) -> dict:
    if not isinstance(versions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in versions.items()
    ):
        raise AdapterFault(f"versions() must return a dict of str to str, got {repr(versions)[:200]}")
    return versions


def key_distribution_problem(adapter, versions: dict) -> str | None:
    """Why the adapter's declared key_distribution is not a distribution `versions` reports, or None
    (none declared: the default rule, reports.records.resolve_key_distribution)."""
    key = declared_key_distribution(adapter)
    if key is None or key in versions:
        return None
    return (
        f"key_distribution {key[:100]!r} is not in versions() (which reports "
        f"{', '.join(sorted(versions))[:300] or 'nothing'}): declare the distribution whose version identifies "
        "the implementation, and report its version"
    )


def declared_key_distribution(adapter) -> str | None:
    """The adapter's key_distribution if it declares a usable one (check_attributes reports any other)."""
    key = _get(adapter, "key_distribution")
    return key if isinstance(key, str) and key.strip() else None


def lookup(namespace, dotted):
    """namespace.<dotted>; AttributeError if missing (or if looking it up raises anything)."""
    obj = namespace
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise
        except Exception as e:  # a namespace whose attribute access itself fails
            raise AttributeError(f"{part}: {type(e).__name__}: {e}") from e
    return obj


MAX_NAME_CHARS = 100  # OUT/<name>@<version>.<pid>.journal.stack must fit a file name (255 bytes)


def _get(adapter, name):
    try:
        return getattr(adapter, name, None)
    except Exception:  # a property that raises: treated as missing
        return None


def check_attributes(adapter, report):
    name = _get(adapter, "name")
    if isinstance(name, str) and name.strip() and len(name) > MAX_NAME_CHARS:
        report.problem(
            f"name must be at most {MAX_NAME_CHARS} characters (it names the record's files), "
            f"got {len(name)}: {name[:40]!r}..."
        )
    elif isinstance(name, str) and name.strip():
        report.ok(f"name {name!r}")
    else:
        report.problem(f"name must be a non-empty str, got {name!r}"[:200])
    edition = _get(adapter, "edition")
    if edition in contract.EDITIONS:
        report.ok(f"edition {edition!r}")
    else:
        report.problem(f"edition must be one of {', '.join(contract.EDITIONS)}, got {edition!r}")
    key = _get(adapter, "key_distribution")
    if key is not None and not (isinstance(key, str) and key.strip()):
        report.problem(
            f"key_distribution must be a non-empty str (a distribution versions() reports) or None, got {key!r}"[:200]
        )
    expectations = _get(adapter, "expectations")
    if expectations is not None and not isinstance(expectations, (str, pathlib.PurePath)):
        report.problem(f"expectations must be a pathlib.Path or None, got {expectations!r}")
    caps = _get(adapter, "capabilities")
    if not isinstance(caps, (set, frozenset)) or not all(isinstance(c, str) for c in caps):
        report.problem(f"capabilities must be a frozenset of str, got {caps!r}")
        caps = set()
    unknown = sorted(set(caps) - set(contract.CAPABILITIES))
    if unknown:
        report.problem(
            f"unknown capabilities {', '.join(map(repr, unknown))}; known: {', '.join(contract.CAPABILITIES)}"
        )
    report.ok(f"capabilities: {', '.join(sorted(set(caps) & set(contract.CAPABILITIES))) or 'none'}")
    missing = [m for m in contract.METHODS if m not in contract.OPTIONAL_METHODS and not callable(_get(adapter, m))]
    if missing:
        report.problem(f"methods missing or not callable: {', '.join(missing)}")
    else:
        report.ok("methods load, to_numpy, is_symbolic, set_seed, versions")
    not_callable = [
        m for m in contract.OPTIONAL_METHODS if _get(adapter, m) is not None and not callable(_get(adapter, m))
    ]
    if not_callable:
        report.problem(f"optional methods present but not callable: {', '.join(not_callable)}")
    for capability, method in (("compiled", "compiled_call"), ("gradients", "recorded_call")):
        if capability in caps and not contract.provides(adapter, method):
            report.problem(
                f"capability {capability!r} is declared but the adapter has no {method} "
                f"(declare it only with a {method} method)"
            )
    return set(caps) & set(contract.CAPABILITIES), not missing


def check_namespace(namespace, caps, report) -> bool:
    """The names the suites use, and their kinds. True when the smoke case can run."""
    if namespace is None:
        report.problem(
            "load() returned None: it must return the Keras-shaped namespace "
            "(a module or an object with the names the suites use)"
        )
        return False
    missing, wrong = [], []
    for dotted in contract.NAMESPACE:
        try:
            obj = lookup(namespace, dotted)
        except AttributeError:
            missing.append(f"K.{dotted}")
            continue
        if dotted in contract.CLASSES and not isinstance(obj, type):
            wrong.append(f"K.{dotted} must be a class, got {type(obj).__name__}")
        elif dotted not in contract.CLASSES and not callable(obj):
            wrong.append(f"K.{dotted} must be callable, got {type(obj).__name__}")
    for cap in sorted(caps):
        for need in contract.CAPABILITY_NEEDS[cap]:
            if need.startswith("namespace:"):
                dotted = need.removeprefix("namespace:")
                try:
                    lookup(namespace, dotted)
                except AttributeError:
                    wrong.append(f"capability {cap!r} needs K.{dotted}, which is missing")
    if missing:
        report.problem(f"namespace: missing {', '.join(missing)}")
    for w in wrong:
        report.problem(f"namespace: {w}")
    if not missing and not wrong:
        report.ok(f"namespace: all {len(contract.NAMESPACE)} names the suites use, of the right kinds")
    smoke_needs = ("layers.Dense", "layers.Dropout", "Input")
    return all(f"K.{n}" not in missing for n in smoke_needs)


def attribute_problems(adapter) -> list[str]:
    report = Report()
    check_attributes(adapter, report)
    return report.problems


def namespace_problems(namespace, caps) -> list[str]:
    report = Report()
    check_namespace(namespace, caps, report)
    return report.problems


# What each namespace name must accept and return: the calls the suites make (docs/WRITING_AN_ADAPTER.md
# has the same table; tests/harness/test_adapter_contract.py keeps both in step with backend.NAMESPACE). "A tensor" is
# whatever the backend's layers return and accept: `adapter.to_numpy` turns it into numpy.
NAMESPACE_MEANING = {
    "Layer": "the layer base class: the suites subclass it (`__init__(**kwargs)`, `build(input_shape)`, "
    "`call(x, training=None)`, `add_weight(shape=, initializer=, trainable=, name=)`) and call instances "
    "on numpy arrays, tensors, lists of them and Input tensors",
    "Model": "the model base class: subclassed like Layer; `Model(inputs, outputs)` with `functional`; "
    "`compile(optimizer=, loss=)` and the fit / inference methods with those capabilities",
    "Sequential": "`Sequential([layer, ...])`, optionally with an `Input(shape=...)` first (with `functional`) -> a "
    "model calling each layer on the previous one's output; `compile` / fit / inference as `Model`",
    "InputSpec": "class: `InputSpec(dtype=, shape=, ndim=, max_ndim=, min_ndim=, axes={axis: size})`, all keywords "
    "optional; assigned to `layer.input_spec`, alone or as a list",
    "Input": "`Input(shape=(3,))` (batch dimension left out) -> a symbolic tensor: `is_symbolic` is True for it "
    "and for what layers return on it",
    "layers.Dense": "`Dense(units, activation=None | 'relu')` -> a layer; called on a (batch, n) tensor -> a "
    "(batch, units) tensor; weights `kernel` (n, units) and `bias`",
    "layers.Dropout": "`Dropout(rate, seed=None)` -> a layer; ValueError for a rate outside [0, 1]; called with "
    "`training=True/False/None` -> a tensor of the input's shape",
    "layers.BatchNormalization": "`BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3)` -> a layer with "
    "`moving_mean`, `moving_variance`, `gamma`, `beta`; called with `training=` -> a "
    "tensor of the input's shape",
    "layers.Concatenate": "`Concatenate(axis=-1)` -> a layer called on a list of tensors -> their concatenation",
    "layers.Embedding": "`Embedding(input_dim, output_dim, dtype=None)` -> a layer with `embeddings` (input_dim, "
    "output_dim); called on a tensor of integer ids -> a tensor of shape ids.shape + (output_dim,)",
    "layers.GaussianDropout": "`GaussianDropout(rate, seed=None, dtype=None)` -> a layer; called with `training=` -> "
    "a tensor of the input's shape (the input times noise of mean 1 in training)",
    "layers.GaussianNoise": "`GaussianNoise(stddev, seed=None, dtype=None)` -> a layer; called with `training=` -> "
    "a tensor of the input's shape (the input plus noise of mean 0 in training)",
    "ops.add": "`add(a, b)`: tensors, weights (variables) or numpy arrays, broadcasting -> a tensor",
    "ops.concatenate": "`concatenate([a, b], axis=-1)` -> a tensor",
    "ops.is_tensor": "`is_tensor(x)` -> True for the backend's tensors (what `call` receives for a numpy input, "
    "what ops and layers return); False for Python numbers and lists. A numpy array may be "
    "either (it is the numpy backend's tensor)",
    "ops.matmul": "`matmul(a, b)`: 2-D tensors, weights or numpy arrays -> a tensor",
    "ops.multiply": "`multiply(a, b)`: as add; b may be a Python float -> a tensor",
    "ops.relu": "`relu(x)` -> a tensor, max(x, 0) elementwise",
    "optimizers.SGD": "`SGD(learning_rate=float)` -> an optimizer `Model.compile(optimizer=...)` accepts",
}


def check_namespace_behaviour(adapter, K, caps, report, step) -> None:
    """Each namespace name called the way the suites call it, checked where the contract says
    what it returns (NAMESPACE_MEANING). `step(report, what, func)` runs one call (doctor's
    _step: a raised exception or a hang becomes a problem) and returns (ok, value)."""
    import numpy as np  # here, not at import: the plugin imports this module in every pytest run

    a = np.arange(6, dtype="float32").reshape(2, 3)
    b = np.full((3, 2), 0.5, dtype="float32")

    def same(what, func, expected):
        ok, out = step(report, what, lambda: adapter.to_numpy(func()))
        if not ok:
            return
        if np.shape(out) == np.shape(expected) and np.allclose(out, expected, rtol=1e-5, atol=1e-6):
            report.ok(f"{what} is right")
        else:
            report.problem(
                f"{what} must equal numpy's {np.shape(expected)} result "
                f"{np.round(expected, 4).tolist()}, got {np.round(np.asarray(out, dtype=float), 4).tolist()}"
            )

    # Ops: each on numpy arrays (as the suites call them on data and on the tensors `call` gets).
    same("ops.add(a, a)", lambda: K.ops.add(a, a), a + a)
    same("ops.multiply(a, 2.0)", lambda: K.ops.multiply(a, 2.0), a * 2.0)
    same("ops.relu(a - 2.5)", lambda: K.ops.relu(a - 2.5), np.maximum(a - 2.5, 0))
    same(
        "ops.concatenate([a, a], axis=-1)", lambda: K.ops.concatenate([a, a], axis=-1), np.concatenate([a, a], axis=-1)
    )
    ok, tensor = step(report, "ops.multiply(a, 1.0)", lambda: K.ops.multiply(a, 1.0))
    if ok:
        ok_t, flag = step(report, "ops.is_tensor(a tensor)", lambda: bool(K.ops.is_tensor(tensor)))
        if ok_t and flag is not True:
            report.problem("ops.is_tensor(a tensor returned by an op) must be True, got False")
        elif ok_t:
            report.ok("ops.is_tensor(a tensor) is True")
    for other in (1.0, [1.0, 2.0]):
        ok_o, flag = step(report, f"ops.is_tensor({other!r})", lambda other=other: bool(K.ops.is_tensor(other)))
        if ok_o and flag is not False:
            report.problem(f"ops.is_tensor({other!r}) must be False, got True")
    same("ops.matmul(a, b)", lambda: K.ops.matmul(a, b), a @ b)

    # Layers: only what a call accepts and the shape it returns. What they compute is the clauses'
    # business (a deviation there is an expectations entry, not a broken adapter).
    def shaped(what, func, shape):
        ok, out = step(report, what, lambda: adapter.to_numpy(func()))
        if ok and np.shape(out) == shape:
            report.ok(f"{what} -> shape {shape}")
        elif ok:
            report.problem(f"{what} must return a tensor of shape {shape}, got shape {np.shape(out)}")

    shaped(
        "layers.Dense(2, activation='relu') on a (2, 3) array", lambda: K.layers.Dense(2, activation="relu")(a), (2, 2)
    )
    shaped("Sequential([layers.Dense(2)]) on a (2, 3) array", lambda: K.Sequential([K.layers.Dense(2)])(a), (2, 2))
    shaped("layers.Concatenate(axis=-1) on [a, a]", lambda: K.layers.Concatenate(axis=-1)([a, a]), (2, 6))
    shaped(
        "layers.Dropout(0.5, seed=1) with training=False",
        lambda: K.layers.Dropout(0.5, seed=1)(a, training=False),
        (2, 3),
    )
    ids = np.array([[1, 2, 0], [3, 4, 5]], dtype="int32")
    shaped("layers.Embedding(10, 4) on (2, 3) int32 ids", lambda: K.layers.Embedding(10, 4)(ids), (2, 3, 4))
    shaped(
        "layers.GaussianDropout(0.3, seed=1) with training=True",
        lambda: K.layers.GaussianDropout(0.3, seed=1)(a, training=True),
        (2, 3),
    )
    shaped(
        "layers.GaussianNoise(0.5, seed=1) with training=True",
        lambda: K.layers.GaussianNoise(0.5, seed=1)(a, training=True),
        (2, 3),
    )
    shaped(
        "layers.BatchNormalization(momentum=0.9, epsilon=1e-3) with training=True",
        lambda: K.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)(a, training=True),
        (2, 3),
    )
    ok, _spec = step(
        report,
        "InputSpec(ndim=2, axes={-1: 3}, dtype='float32')",
        lambda: K.InputSpec(ndim=2, axes={-1: 3}, dtype="float32"),
    )
    if ok:
        report.ok("InputSpec takes ndim, axes and dtype keywords")
    ok, _ = step(report, "optimizers.SGD(learning_rate=0.01)", lambda: K.optimizers.SGD(learning_rate=0.01))
    if ok:
        report.ok("optimizers.SGD(learning_rate=0.01) constructs")
