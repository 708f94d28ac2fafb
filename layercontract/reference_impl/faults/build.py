"""Faults of the Build area (suites/test_build.py)."""

from __future__ import annotations

import numpy as np

from layercontract.reference_impl.faults._machinery import (
    _K2_ONLY,
    NO_FAULT_APPLIES,
    R,
    _rewrite,
    _set,
    _wrap,
    fault,
)


@fault(
    "BUILD.LAZY",
    upstream="keras/src/layers/layer.py Layer._build_at_init: built=True at "
    "construction only if `build` is not overridden (utils.is_default)",
)
def built_at_construction():
    """`Layer.__init__` marks every layer built, so the first call never runs `build`.

    Keras 3 marks some layers whose `build` is not overridden built at construction; here the
    "not overridden" test is lost and every layer starts built. Breaks: a layer must be unbuilt
    until its first call, which creates its weights (BUILD.LAZY).
    """

    def make(original):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self.built = True  # FAULT

        return __init__

    _wrap(R.layer.Layer, "__init__", make)


@fault("BUILD.ONCE", "BUILD.NOT_FOR_NEW_BATCH", "BUILD.CALL_SEQUENCES", "BUILD.EXPLICIT_BUILD_WITH_SUPER")
def build_runs_every_call():
    """`_maybe_build` ignores `built`: `build` runs on every call.

    Breaks: each call re-creates the weights (BUILD.ONCE, BUILD.NOT_FOR_NEW_BATCH).
    """
    _rewrite(R.layer.Layer, "_maybe_build", ("if self.built:", "if False:  # FAULT: ignores built"))


@fault("BUILD.NOT_FOR_NEW_BATCH")
def build_again_for_new_batch_size():
    """The build cache is keyed on the full input shape, batch size included.

    Like a retrace keyed on the whole shape. Breaks: a call with a new batch size rebuilds the
    layer and re-creates its weights (BUILD.NOT_FOR_NEW_BATCH).
    """
    _rewrite(
        R.layer.Layer,
        "_maybe_build",
        ("if self.built:", "if self.built and getattr(self, '_fault_build_shape', None) == _shape_of(first_input):"),
        ("self.built = True", "self.built = True; self._fault_build_shape = _shape_of(first_input)  # FAULT"),
    )


@fault("BUILD.INPUT_SHAPE", "BUILD.LIST_SHAPES", "BUILD.MULTI_ARG_FIRST_SHAPE")
def build_shape_batch_none():
    """`build` receives the input shape with the batch dimension replaced by None.

    A port standardises shapes as in functional construction. Breaks: `build(input_shape)`
    must receive the full shape of the actual input, (4, 3) not (None, 3) (BUILD.INPUT_SHAPE,
    BUILD.LIST_SHAPES, BUILD.MULTI_ARG_FIRST_SHAPE).
    """

    def make(original):
        def _shape_of(x):
            return R.layer._map_structure(lambda t: (None, *tuple(t.shape)[1:]) if t.shape else (), x)

        return _shape_of

    _wrap(R.layer, "_shape_of", make)


@fault("BUILD.LIST_SHAPES")
def multi_input_build_receives_only_first_shape():
    """For a list input, `build` receives the shape of the first tensor only.

    The rule for `call(self, a, b)` (first tensor's shape) applied to list inputs too. Breaks:
    `build` of a layer called on `[a, b]` must get both shapes (BUILD.LIST_SHAPES); Concatenate
    cannot validate its inputs.
    """
    _rewrite(
        R.layer.Layer,
        "_maybe_build",
        (
            "self.build(*([_shape_of(first_input)] if params else []))",
            "self.build(*([_shape_of(_flatten_all([first_input], {})[0])] if params else []))  # FAULT",
        ),
    )


@fault("BUILD.MULTI_ARG_FIRST_SHAPE")
def multi_arg_build_receives_all_shapes():
    """For `call(self, a, b)` with a one-argument `build`, `build` receives a list of all shapes.

    Breaks: Keras gives a single-argument `build` the first tensor's shape
    (BUILD.MULTI_ARG_FIRST_SHAPE); `input_shape[-1]` then indexes the wrong thing.
    """
    _rewrite(
        R.layer.Layer,
        "_maybe_build",
        (
            "self.build(*([_shape_of(first_input)] if params else []))",
            "self.build(*([_shape_of(first_input if len(args) < 2 else list(args))] if params else []))  # FAULT",
        ),
    )


@fault("BUILD.BUILT_FLAG", "BUILD.STATELESS_BUILT")
def built_flag_not_set():
    """Build state is tracked privately; the public `built` attribute always reads False.

    Builds still happen once. Breaks: callers use `built` to know whether weights exist
    (BUILD.BUILT_FLAG, BUILD.STATELESS_BUILT, BUILD.EXPLICIT_BUILD.K3, SYMBOLIC.BUILDS).
    """
    _rewrite(R.layer.Layer, "_maybe_build", ("if self.built:", "if self.__dict__.get('_fault_built'):  # FAULT"))
    _set(
        R.layer.Layer,
        "built",
        property(lambda self: False, lambda self, value: self.__dict__.__setitem__("_fault_built", value)),
    )


@fault(
    "BUILD.EXPLICIT_BUILD.K3",
    upstream="tf-keras: only Layer.build sets `built`; overrides must call "
    "super().build() (clause BUILD.EXPLICIT_BUILD_NEEDS_SUPER.K2)",
)
def explicit_build_reinitializes():
    """An explicit `layer.build(shape)` does not set `built` unless `build` calls super().build().

    The tf-keras behaviour. Breaks: after an explicit build the first call builds again and
    re-creates (re-initializes) the weights (BUILD.EXPLICIT_BUILD.K3).
    """
    layer = R.layer

    def _marks_built(build):  # classes defined from now on: build is not wrapped
        return build

    _set(layer, "_marks_built", _marks_built)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in list(subclasses(layer.Layer)):  # classes already defined: unwrap their build
        build = vars(cls).get("build")
        if build is not None and getattr(build, "_marks_built", False):
            _set(cls, "build", build.__wrapped__)

    def base_build(self, input_shape=None):
        self.built = True

    _set(layer.Layer, "build", base_build)


@fault("BUILD.WEIGHT_IDENTITY", "BUILD.EXPLICIT_BUILD.K3")
def weights_returns_copies():
    """`weights` returns fresh Variable snapshots instead of the layer's own weight objects.

    `weights` confused with `get_weights()`. Breaks: the objects in `weights` change on every
    access, so optimizers and checkpoints hold stale copies (BUILD.WEIGHT_IDENTITY,
    BUILD.EXPLICIT_BUILD.K3).
    """
    _rewrite(
        R.layer.Layer,
        "weights",
        (
            "return _unique(ordered)",
            "return [Variable(w.numpy(), w.name, w.trainable) for w in _unique(ordered)]  # FAULT",
        ),
    )


@fault("BUILD.NON_TRAINABLE_WEIGHTS", "BUILD.TRACKS_SUBLAYERS")
def non_trainable_weight_listed_as_trainable():
    """`add_weight(trainable=False)` does not pass `trainable` on: every weight is trainable.

    Breaks: BatchNormalization's moving statistics land in `trainable_weights`
    (BUILD.NON_TRAINABLE_WEIGHTS, BUILD.TRACKS_SUBLAYERS).
    """
    _rewrite(R.layer.Layer, "add_weight", ("trainable=trainable,", "trainable=True,  # FAULT: flag not forwarded"))


@fault("BUILD.NON_TRAINABLE_WEIGHTS")
def weights_in_creation_order():
    """`weights` lists a layer's own weights in creation order, not trainable first.

    Breaks: created a, n1, b, n2 -> `weights` must be [a, b, n1, n2], which get_weights /
    set_weights rely on (BUILD.NON_TRAINABLE_WEIGHTS).
    """
    _rewrite(
        R.layer.Layer,
        "weights",
        (
            "ordered = [w for w in self._own_weights if w.trainable] + [w for w in self._own_weights if not w.trainable]",
            "ordered = list(self._own_weights)  # FAULT: creation order",
        ),
    )


@fault(
    "BUILD.WEIGHTS_ORDER_BY_LAYER.K3",
    upstream="tf-keras Layer.weights = trainable_weights + non_trainable_weights "
    "(clause BUILD.WEIGHTS_ORDER_TRAINABLE_FIRST.K2)",
)
def weights_trainable_first_across_layers():
    """A composite's `weights` lists all trainable weights of all sub-layers, then all non-trainable.

    The tf-keras order. Breaks: Keras 3 lists each sub-layer's weights together
    (BUILD.WEIGHTS_ORDER_BY_LAYER.K3), so get_weights() arrays no longer line up.
    """

    def make(original):
        def weights(self):
            listed = original.fget(self)
            return [w for w in listed if w.trainable] + [w for w in listed if not w.trainable]

        return property(weights)

    _wrap(R.layer.Layer, "weights", make)


@fault("BUILD.TRACKS_SUBLAYERS", upstream="PyTorch registers no module held in a plain list (hence nn.ModuleList)")
def sublayers_in_lists_not_tracked():
    """Sub-layers held in lists (or tuples) are not tracked; only direct attributes are.

    Breaks: the weights of `self.blocks = [Dense(3), Dense(2)]` are missing from the parent's
    `weights` and `trainable_weights`, so fit never trains them (BUILD.TRACKS_SUBLAYERS).
    """
    _rewrite(
        R.layer.Layer,
        "_sublayers",
        ("elif isinstance(value, (list, tuple)):", "elif isinstance(value, ()):  # FAULT: lists ignored"),
    )


@fault("BUILD.SHARED_LAYER_ONE_SET", "CALL.MODEL_SHARED_CONCAT")
def shared_layer_creates_weights_per_call():
    """A layer called a second time inside one parent call builds a new set of weights.

    Like TF 1.x variable scopes without `reuse=True`: each call site creates variables. Breaks:
    a shared layer must hold one set of weights (BUILD.SHARED_LAYER_ONE_SET,
    CALL.MODEL_SHARED_CONCAT).
    """
    context = R.context

    def make(original):
        def __call__(self, *args, **kwargs):
            ctx = context._current
            if ctx is not None:
                seen = ctx.__dict__.setdefault("_fault_called", [])
                if any(self is layer for layer in seen):
                    self.built = False  # FAULT: a new call site builds again
                else:
                    seen.append(self)
            return original(self, *args, **kwargs)

        return __call__

    _wrap(R.layer.Layer, "__call__", make)


@fault("BUILD.STATELESS_BUILT")
def built_not_set_without_build():
    """Only an overridden `build` sets `built`; `__call__` never does.

    Breaks: a layer without `build()` (Dropout, a custom stateless layer) never reports
    built (BUILD.STATELESS_BUILT).
    """
    _rewrite(R.layer.Layer, "__call__", ("self.built = True", "pass  # FAULT"))
    _rewrite(R.layer.Layer, "_maybe_build", ("self.built = True", "pass  # FAULT"))
    _rewrite(R.layer.Layer, "build", ("self.built = True", "pass  # FAULT"))  # the base build is not an override


@fault("BUILD.DENSE_WEIGHT_SHAPES", upstream="torch.nn.Linear.weight has shape (out_features, in_features)")
def dense_kernel_transposed():
    """Dense stores its kernel as (units, input_dim) and multiplies by its transpose.

    The PyTorch layout. Outputs are right. Breaks: the kernel must be (input_dim, units) for
    weight transfer and set_weights (BUILD.DENSE_WEIGHT_SHAPES).
    """
    _rewrite(R.layers.Dense, "build", ("shape=(input_dim, self.units)", "shape=(self.units, input_dim)"))
    autodiff = R.autodiff

    def call(self, inputs):
        kernel = self.kernel.value
        outputs = autodiff.record(
            np.matmul(inputs, kernel.T),
            [inputs, self.kernel],
            lambda g: [
                np.matmul(g, kernel),
                np.matmul(g.reshape(-1, g.shape[-1]).T, np.reshape(inputs, (-1, inputs.shape[-1]))),
            ],
        )
        if self.use_bias:
            outputs = R.ops.add(outputs, self.bias)
        return R.layers.ACTIVATIONS[self.activation](outputs)

    _set(R.layers.Dense, "call", call)


@fault(
    "BUILD.STATE_LOCKED_AFTER_BUILD.K3",
    upstream="tf-keras base_layer has no state lock (clause BUILD.STATE_AFTER_BUILD_TRACKED.K2)",
)
def state_not_locked_after_build():
    """A built layer still accepts new weights and sub-layers.

    The tf-keras behaviour. Breaks: Keras 3 raises ValueError for state created after build
    (BUILD.STATE_LOCKED_AFTER_BUILD.K3).
    """
    _rewrite(R.layer.Layer, "_lock_state", ("self._state_locked = True", "pass  # FAULT"))


NO_FAULT_APPLIES["BUILD.STATE_AFTER_BUILD_TRACKED.K2"] = _K2_ONLY


# ------------------------------------------------ issue 19, cluster 2: building composites and models
@fault("BUILD.MODEL_BUILD_MARKS_ONLY.K3")
def model_build_calls_the_model():
    """`Model.build(shape)` on a subclassed model calls it on a zero batch of that shape (Keras 2's build).

    Breaks: Keras 3's `Model.build` only marks the model built; the sub-layers get their weights
    on the first real call (BUILD.MODEL_BUILD_MARKS_ONLY.K3).
    """

    def build(self, input_shape):
        self.built = True
        self(np.zeros([1 if d is None else d for d in input_shape], dtype="float32"))  # FAULT
        self._lock_state()

    _set(R.model.Model, "build", build)


@fault("BUILD.MODEL_OWN_BUILD", "BUILD.MODEL_BUILD_MARKS_ONLY.K3")
def explicit_build_does_not_mark_built():
    """Only `__call__` marks a layer built: an explicit `build(shape)` (the user's, and `super().build`) does not.

    Breaks: after `model.build(shape)` the model is not built, and its first call runs `build`
    again, building the sub-layers a second time (BUILD.MODEL_OWN_BUILD,
    BUILD.MODEL_BUILD_MARKS_ONLY.K3).
    """
    _rewrite(R.layer, "_marks_built", ("self.built = True", "pass  # FAULT"))
    _rewrite(R.layer.Layer, "build", ("self.built = True", "pass  # FAULT"))


@fault("BUILD.COMPOSITE_BUILT_BY_FIRST_CALL")
def symbolic_call_assumes_the_input_shape():
    """On symbolic inputs a layer without `compute_output_shape` is assumed to keep its input's shape; `call` is not traced.

    Breaks: a composite called first on `Input` never calls its sub-layers, which stay unbuilt
    without weights (BUILD.COMPOSITE_BUILT_BY_FIRST_CALL).
    """
    _rewrite(R.layer.Layer, "compute_output_spec", ("return self.call(*args, **kwargs)", "return args[0]  # FAULT"))


@fault("BUILD.SUBLAYER_CREATED_IN_BUILD")
def state_locked_before_build_runs():
    """An explicit or automatic `build` locks the layer's state before the user's `build` runs, not after.

    Breaks: a sub-layer assigned in `build()` is refused ('cannot add new elements of state')
    (BUILD.SUBLAYER_CREATED_IN_BUILD).
    """
    _rewrite(
        R.layer,
        "_marks_built",
        ("result = build(self, *args, **kwargs)", "self._lock_state(); result = build(self, *args, **kwargs)  # FAULT"),
    )


@fault("BUILD.OUTPUT_SHAPE_DOES_NOT_BUILD.K3")
def dense_output_shape_builds():
    """Dense's `compute_output_shape` builds the layer first (tf-keras's default does).

    Breaks: a shape query creates Dense's kernel and bias (BUILD.OUTPUT_SHAPE_DOES_NOT_BUILD.K3).
    """

    def make(original):
        def compute_output_shape(self, input_shape):
            if not self.built:
                self.build(input_shape)  # FAULT
                self.built = True
            return original(self, input_shape)

        return compute_output_shape

    _wrap(R.layers.Dense, "compute_output_shape", make)


@fault("BUILD.ADD_WEIGHT_KEYWORDS")
def add_weight_default_initializer_zeros():
    """`add_weight` without `initializer` initialises with zeros, not glorot-uniform.

    Breaks: a weight created without an initializer is all zeros (BUILD.ADD_WEIGHT_KEYWORDS).
    """
    _rewrite(
        R.layer.Layer,
        "add_weight",
        ('initializer = initializer or "glorot_uniform"', 'initializer = initializer or "zeros"  # FAULT'),
    )


@fault("BUILD.ADD_WEIGHT_POSITIONAL.K3", upstream="keras-team/keras#22253")
def add_weight_positional_name_not_detected():
    """`add_weight` does not detect Keras 2's positional name: `add_weight('w', (3, 2))` reads 'w' as the shape.

    Breaks: the call fails with an unrelated error (the shape (3, 2) taken as the initializer)
    instead of telling to pass `name` as a keyword (BUILD.ADD_WEIGHT_POSITIONAL.K3); Keras 3
    before keras-team/keras#22265 failed this way with 'got multiple values for argument shape'.
    """
    _rewrite(R.layer.Layer, "add_weight", ("if args and isinstance(args[0], str):", "if False:  # FAULT"))


NO_FAULT_APPLIES["BUILD.MODEL_BUILD_TRACES_CALL.K2"] = _K2_ONLY
NO_FAULT_APPLIES["BUILD.OUTPUT_SHAPE_BUILDS.K2"] = _K2_ONLY
NO_FAULT_APPLIES["BUILD.ADD_WEIGHT_POSITIONAL.K2"] = _K2_ONLY
