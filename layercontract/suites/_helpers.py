"""Backend-neutral helpers for the suites: shapes, dtypes, error-message content, tolerances
(read from clauses.toml, never written in a check), the small test layers several suites
build on any backend's `Layer` class, and statistics.

Statistics: exact binomial acceptance tests for the stochastic clauses (Dropout)
-------------------------------------------------------------------------------
What is tested. A count X of independent Bernoulli(p) events among n trials (zeros among n
strictly positive Dropout outputs; positions whose masks differ; drops of one position over
k calls) follows Binomial(n, p) exactly when the implementation is right. A check accepts X
when lo <= X <= hi.

How the interval is computed. With alpha = FALSE_FAILURE_PROBABILITY = 1e-9, `lo` is the
largest k with P(X < k) <= alpha/2 and `hi` the smallest k with P(X > k) <= alpha/2, both found
by bisection on the exact binomial CDF and survival function (scipy.special.bdtr and bdtrc; no
normal approximation, so it stays exact for small n and for p near 0 or 1). The two tails outside [lo, hi] then hold
at most alpha together: a correct implementation fails one check with probability <= 1e-9
(the interval is slightly conservative because X is discrete). `binomial_acceptance` asserts
this bound before returning.

Why 1e-9. The suites run each stochastic check on six backends, in every CI run, and the
generated Dropout checks run once per hypothesis example (250 per check in the `thorough`
profile, with fresh random examples each run). Over a million such checks the expected number
of false failures stays at 0.001, so a red run means a real fault, never "re-run it". The
backends' generators are also seeded (fixed seeds), so each check is reproducible: the 1e-9
is the chance that a seed is unlucky, and it is paid once, not on every run.

What it costs (power). At alpha = 1e-9 the interval reaches about 6.1 standard deviations
either side of n*p. For n = 20000 (TRAIN.DROPOUT_RATE) the intervals and the probability of
catching a wrong rate p +- 0.02 (exact, computed in tests/suites/test_statistics.py) are:

    rate  interval        half-width   power at rate-0.02 / rate+0.02
    0.1   [1746, 2264]    0.013        1.000 / 0.998
    0.3   [5607, 6398]    0.020        0.54  / 0.51
    0.5   [9568, 10432]   0.022        0.32  / 0.32
    0.75  [14623, 15371]  0.019        0.64  / 0.68

so a rate off by 0.02 is caught reliably only near rate 0.1; power reaches 0.99 for an error
of about 0.02 (rate 0.1) to 0.03 (rate 0.5). The faults the checks exist for are mostly far
larger: `rate` read as the keep probability moves the count of a rate-0.3 check 123 standard
deviations (caught with certainty for practical purposes), and a frozen mask gives 0 changed
positions (TRAIN.DROPOUT_FRESH_MASK) and per-position counts of 0 or k (per-position check).
A mask shared across the batch changes the spread, not the mean: the zero count of a
(200, 100) tensor becomes 200 * Binomial(100, rate), and one rate check catches it with
probability 0.74 at rate 0.3 and 0.62 at rates 0.1 and 0.5; the three TRAIN.DROPOUT_RATE
checks (0.1, 0.3, 0.75) and the fresh-mask check all miss it with probability about 0.01.

Many counts at once (Bonferroni). A check over m counts (per-position drop counts, one per
position of the tensor) tests each against its interval at alpha/m (`assert_binomial_each`);
by the union bound the whole check fails a correct implementation with probability <= alpha.
For 1000 positions over 50 calls at rate 0.5 the per-position interval is [2, 48]: a position
dropped never or always (a frozen mask) fails it.
"""

from __future__ import annotations

import bisect
import re

import numpy as np

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def shape_tuple(shape):
    """(2, 3) for a tuple, TensorShape, torch.Size or list of dims; None stays None."""
    return tuple(None if d is None else int(d) for d in shape)


def dtype_name(dtype) -> str:
    """'float32' for numpy, TensorFlow, JAX and torch dtypes alike."""
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        name = str(dtype)
    return name.removeprefix("torch.")


def clean_message(exc: BaseException) -> str:
    """The error text without ANSI escapes, with whitespace collapsed."""
    return " ".join(ANSI.sub("", str(exc)).split())


# A call wrapper's frame. Keras 3 and tf-keras re-raise every exception raised inside a layer's
# `call` (a backend op's own error included) as "Exception encountered when calling X. <original
# message> Arguments received by X: • inputs=[...shape=(2, 3)...]" (tf-keras: "Call arguments
# received by layer 'name' (type X)"): the frame names the layer and echoes the arguments, shapes
# included, whoever raised. An error oracle reads the message without it (`own_message`), so that
# it establishes what the rejection itself says, never what a generic wrapper adds.
_CALL_WRAPPER = re.compile(
    r"^Exception encountered when calling (?P<who>.+?)\.\s+(?P<own>.*?)\s*(?:Call arguments|Arguments) "
    r"received by (?P=who):.*$",
    re.DOTALL,
)
_ARGUMENT_ECHO = re.compile(r"\s*\b(?:Call arguments|Arguments) received by .*$", re.DOTALL)


def own_message(exc: BaseException) -> str:
    """`clean_message` without a call wrapper's frame (see _CALL_WRAPPER): the message of the
    exception that was wrapped, or the whole message when there is no wrapper."""
    message = clean_message(exc)
    framed = _CALL_WRAPPER.match(message)
    if framed:
        return framed.group("own").strip()
    return _ARGUMENT_ECHO.sub("", message)


def outside_brackets(message: str) -> str:
    """The message without its bracketed groups ((...), [...], <...>, nested): what it says in
    its own words, not the shapes and tensor values it echoes."""
    previous = None
    while previous != message:
        previous, message = message, re.sub(r"\([^()]*\)|\[[^\[\]]*\]|<[^<>]*>", " ", message)
    return message


def names_number(message: str, number, *, ignore: str = "") -> bool:
    """True if `number` (an int, or a float with an integer value) stands alone in the message's
    own words (outside the shapes and tensor values it echoes, and outside `ignore`, e.g. the
    layer's name); 1.0 is found as "1", "1.0" or "1.00"."""
    text = outside_brackets(message.replace(ignore, " ") if ignore else message)
    return re.search(rf"(?<![\w.]){int(number)}(?:\.0*)?(?![\w.])", text) is not None


def assert_names_counts(message: str, *, layer: str, expected: int, received: int):
    """A wrong number of inputs is rejected naming the layer, the expected and the received count
    (INPUT.NUMBER_OF_INPUTS), in any wording: the counts must stand alone in the message's own
    words, not only inside the shapes or tensors it echoes. `message`: `own_message(exc)`."""
    missing = []
    if layer not in message:
        missing.append(f"layer name {layer!r}")
    if not names_number(message, expected, ignore=layer):
        missing.append(f"expected count {expected}")
    if not names_number(message, received, ignore=layer):
        missing.append(f"received count {received}")
    assert not missing, f"error message lacks {', '.join(missing)}: {message!r}"


def mentions_shape(message: str, shape) -> bool:
    """True if the message shows `shape` in any common rendering: (10, 4), [10, 4], (None, 4)."""
    parts = [r"None" if d is None else str(d) for d in shape]
    pattern = r"[\(\[]\s*" + r"\s*,\s*".join(parts) + r"\s*,?\s*[\)\]]"
    return re.search(pattern, message) is not None


def names_input_index(message: str, index: int) -> bool:
    """True if the message names input number `index`: "input 1", "Input #1", "inputs[1]",
    "input at index 1", "input index 1"."""
    return (
        re.search(rf"\binputs?\s*(?:\[|#|(?:at\s+)?(?:index|position)\s*)?{index}\b", message, re.IGNORECASE)
        is not None
    )


def names_value(message: str, value, *, ignore: str = "") -> bool:
    """True if the message names `value`, in any wording: an int stands alone in the message's
    own words (`names_number`), a tuple is a shape (`mentions_shape`), a str is a whole word or
    phrase, a list is alternatives (any one will do); None or "" is not checked."""
    if value is None or value == "":
        return True
    if isinstance(value, list):
        return any(names_value(message, v, ignore=ignore) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, tuple, str)):
        raise TypeError(f"names_value: {value!r}")
    if isinstance(value, int):
        return names_number(message, value, ignore=ignore)
    if isinstance(value, tuple):
        return mentions_shape(message, value)
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", message) is not None


def assert_message_names(message: str, *, layer: str, index: int, prop: str, expected, received, full_shape=None):
    """The content a Keras input-compatibility error must carry (clause INPUT.ERROR_MESSAGE), in
    any wording: the layer's name, the input index ("input 0"), the violated property (the
    InputSpec argument's name), the expected and the received value (see `names_value`).
    `message`: `own_message(exc)`, so that a call wrapper's frame never supplies any of them."""
    missing = []
    if layer not in message:
        missing.append(f"layer name {layer!r}")
    if not names_input_index(message, index):
        missing.append(f"input index {index}")
    if prop not in message:
        missing.append(f"property {prop!r}")
    if not names_value(message, expected, ignore=layer):
        missing.append(f"expected value {expected!r}")
    if not names_value(message, received, ignore=layer):
        missing.append(f"received value {received!r}")
    if full_shape is not None and not mentions_shape(message, full_shape):
        missing.append(f"full received shape {full_shape}")
    assert not missing, f"error message lacks {', '.join(missing)}: {message!r}"


# -------------------------------------------------------------- statistics
# The arithmetic of the exact binomial checks is documented in the module docstring.
FALSE_FAILURE_PROBABILITY = 1e-9


def binomial_acceptance(n: int, p: float, alpha: float = FALSE_FAILURE_PROBABILITY):
    """Two-sided acceptance interval [lo, hi] for X ~ Binomial(n, p) with
    P(X < lo) + P(X > hi) <= alpha, computed exactly (no normal approximation).

    lo is the largest k with P(X < k) <= alpha/2; hi the smallest k with P(X > k) <= alpha/2.
    """
    # Imported here, not at import; scipy.special, not scipy.stats, whose import is three times
    # as long (half a second of CPU in every process that runs a stochastic check).
    from scipy import special

    def below(k: int) -> float:  # P(X < k)
        return float(special.bdtr(k - 1, n, p)) if k > 0 else 0.0

    def above(k: int) -> float:  # P(X > k)
        return float(special.bdtrc(k, n, p)) if k < n else 0.0

    # below() grows with k from P(X < 0) = 0, above() falls to P(X > n) = 0
    lo = bisect.bisect_right(range(n + 1), False, key=lambda k: below(k) > alpha / 2) - 1
    hi = bisect.bisect_left(range(n + 1), True, key=lambda k: above(k) <= alpha / 2)
    assert below(lo) + above(hi) <= alpha
    return lo, hi


def assert_binomial(count: int, n: int, p: float, what: str):
    lo, hi = binomial_acceptance(n, p)
    assert lo <= count <= hi, (
        f"{what}: {count} of {n}, outside the exact two-sided Binomial({n}, {p}) acceptance "
        f"interval [{lo}, {hi}] (false-failure probability <= {FALSE_FAILURE_PROBABILITY:g})"
    )


def assert_binomial_between(count: int, n: int, p_low: float, p_high: float, what: str):
    """X ~ Binomial(n, p) for some p in [p_low, p_high] (a composite null, for events whose exact
    probability a format's rounding moves within known bounds): accepted on [lo(p_low), hi(p_high)].
    X grows stochastically with p, so for every p in the range P(X < lo(p_low)) <= P_p_low(X <
    lo(p_low)) <= alpha/2 and likewise above: the false-failure probability stays <= 1e-9."""
    lo, _ = binomial_acceptance(n, p_low)
    _, hi = binomial_acceptance(n, p_high)
    assert lo <= count <= hi, (
        f"{what}: {count} of {n}, outside [{lo}, {hi}], the union of the exact two-sided Binomial({n}, p) "
        f"acceptance intervals for p in [{p_low:.4f}, {p_high:.4f}] (false-failure probability <= "
        f"{FALSE_FAILURE_PROBABILITY:g})"
    )


def assert_binomial_each(counts, n: int, p: float, what: str):
    """Every count ~ Binomial(n, p): each tested at FALSE_FAILURE_PROBABILITY / len(counts)
    (Bonferroni), so that the whole check keeps the false-failure probability <= 1e-9."""
    counts = np.asarray(counts).ravel()
    lo, hi = binomial_acceptance(n, p, FALSE_FAILURE_PROBABILITY / counts.size)
    outside = np.flatnonzero((counts < lo) | (counts > hi))
    assert outside.size == 0, (
        f"{what}: {outside.size} of {counts.size} counts outside the Bonferroni-corrected "
        f"Binomial({n}, {p}) acceptance interval [{lo}, {hi}] (e.g. index {outside[0]}: "
        f"{counts[outside[0]]}; false-failure probability of the whole check <= "
        f"{FALSE_FAILURE_PROBABILITY:g})"
    )


def close(actual, expected, *, rtol, atol, what=""):
    np.testing.assert_allclose(
        np.asarray(actual, dtype="float64"), np.asarray(expected, dtype="float64"), rtol=rtol, atol=atol, err_msg=what
    )


def tolerance(clause_id: str) -> dict:
    """The numeric tolerance a clause states (rtol, atol)."""
    from layercontract.spec.clauses import load

    tol = load()[clause_id].tolerance
    assert tol, f"clause {clause_id} states no tolerance"
    return {"rtol": tol["rtol"], "atol": tol["atol"]}


def copy_weights(backend, source, target):
    """Both layers built: `target` (a reference layer) gets `source`'s (the backend's) weights."""
    target.set_weights([backend.to_numpy(w) for w in source.weights])


# -------------------------------------------------------------- test layers
def recorder_class(K, backend):
    class Recorder(K.Layer):
        """Identity layer that records the `training` value of each eager (non-symbolic) call."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen = []

        def call(self, x, training=None):
            if not backend.is_symbolic(x):
                self.seen.append(training)
            return x

    return Recorder


def guarded_layer(K, spec=None, **layer_kwargs):
    """A layer whose InputSpec is set in __init__ (`spec`: keyword arguments of one InputSpec,
    a list of them for a list input, or None); it records "build" and "call" events.
    `layer_kwargs` go to the layer's constructor (e.g. dtype="float64")."""

    class Guarded(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if isinstance(spec, (list, tuple)):
                self.input_spec = [K.InputSpec(**s) for s in spec]
            elif spec is not None:
                self.input_spec = K.InputSpec(**spec)
            self.events = []

        def build(self, input_shape):
            self.events.append("build")

        def call(self, x):
            self.events.append("call")
            return x[0] if isinstance(x, (list, tuple)) else x

    return Guarded(**layer_kwargs)
