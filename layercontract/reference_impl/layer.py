"""`Layer`: the `__call__` pipeline, lazy build, weights and sub-layer tracking.

`__call__` runs, in this order, each step in one place:
  1. convert inputs to tensors and autocast floating inputs   -> `_convert_inputs`
  2. check `input_spec` against the first positional input     -> `input_spec.assert_input_compatibility`
  3. build once, from the input shape(s), then re-check spec    -> `_maybe_build`
     (then the layer's state is locked                            -> `_lock_state`)
  4. resolve `training` through the shared call context         -> `context.resolve_training`
  5. run `call` (or propagate shapes for symbolic inputs)       -> `call` / `compute_output_spec`
"""

import functools
import inspect
import re
from collections import defaultdict

import numpy as np

from layercontract.reference_impl import context, initializers, variables
from layercontract.reference_impl.input_spec import assert_input_compatibility
from layercontract.reference_impl.symbolic import Node, SymbolicTensor, is_symbolic
from layercontract.reference_impl.variables import Variable

_name_counts = defaultdict(int)


def _unique_name(cls):
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def _map_structure(fn, x):
    if isinstance(x, (list, tuple)):
        return type(x)(_map_structure(fn, item) for item in x)
    if isinstance(x, dict):
        return {k: _map_structure(fn, v) for k, v in x.items()}
    return fn(x)


def _is_array_like(x):
    return isinstance(x, (np.ndarray, np.generic, SymbolicTensor))


def _shape_of(x):
    """The shape of each tensor in the structure; an absent optional item (None) stays None
    (MULTI.LIST_ITEM_NONE)."""
    return _map_structure(lambda t: None if t is None else tuple(t.shape), x)


def _marks_built(build):
    """Wrap a subclass's `build` so that an explicit `layer.build(shape)` also sets `built`."""

    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        self._lock_state()
        return result

    wrapper._marks_built = True
    return wrapper


class Layer:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            cls.build = _marks_built(build)

    def __init__(self, name=None, dtype=None, trainable=True, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
        self.name = name or _unique_name(type(self))
        self.variable_dtype, self.compute_dtype = _dtype_policy(dtype)
        self.built = False
        self.input_spec = None
        self._trainable = trainable
        self._own_weights = []
        self._state_locked = False

    # ------------------------------------------------------------ state lock
    # Keras 3 (Layer._lock_state, clause BUILD.STATE_LOCKED_AFTER_BUILD.K3): once built, a layer
    # takes no new variables and no new sub-layers.
    _LOCKED_MESSAGE = (
        "You cannot add new elements of state (variables or sub-layers) to a layer that "
        "is already built. All state must be created in the `__init__()` method or in "
        "the `build()` method."
    )

    def _lock_state(self):
        self._state_locked = True

    def __setattr__(self, name, value):
        if vars(self).get("_state_locked") and _holds_layer(value):
            raise ValueError(f"Layer '{self.name}': {self._LOCKED_MESSAGE}")
        super().__setattr__(name, value)

    # ---------------------------------------------------------------- weights
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True, name=None, autocast=True):
        """Keras 3's signature (BUILD.ADD_WEIGHT_POSITIONAL.K3): at most `shape, initializer, dtype`
        positionally; Keras 2's positional name is rejected; a floating weight defaults to glorot-uniform."""
        if len(args) > 3:
            raise TypeError(f"add_weight() takes at most 3 positional arguments but {len(args)} were given.")
        if args and isinstance(args[0], str):
            raise ValueError(
                f"`name` must be passed as a keyword argument. Received: add_weight({args[0]!r}, ...). "
                f"Use: add_weight(shape=..., name={args[0]!r})."
            )
        if args and shape is not None:
            raise ValueError("`shape` was passed both positionally and as a keyword argument.")
        shape, initializer, dtype = (*args, *(shape, initializer, dtype)[len(args) :])
        initializer = initializer or "glorot_uniform"
        if self._state_locked:
            raise ValueError(f"Layer '{self.name}': {self._LOCKED_MESSAGE}")
        shape = tuple(shape or ())
        value = initializers.get(initializer)(shape)
        variable = Variable(
            value,
            name=name or f"variable_{len(self._own_weights)}",
            dtype=dtype or self.variable_dtype,
            autocast=autocast,
            trainable=trainable,
        )
        self._own_weights.append(variable)
        return variable

    def _sublayers(self):
        """Layers held in attributes or in lists/tuples/dicts of attributes, in assignment order."""
        found = []

        def visit(value):
            if isinstance(value, Layer):
                if all(value is not f for f in found):
                    found.append(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    visit(item)
            elif isinstance(value, dict):
                for item in value.values():
                    visit(item)

        for value in vars(self).values():
            visit(value)
        return found

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._sublayers():
            layer.trainable = value

    @property
    def weights(self):
        """Own trainable, own non-trainable (creation order in each), then sub-layers'; no duplicates."""
        ordered = [w for w in self._own_weights if w.trainable] + [w for w in self._own_weights if not w.trainable]
        for layer in self._sublayers():
            ordered += layer.weights
        return _unique(ordered)

    @property
    def trainable_weights(self):
        """Weights an optimizer updates: trainable weights of this layer and of trainable
        sub-layers; a layer with trainable=False contributes none (nor do its sub-layers)."""
        if not self.trainable:
            return []
        own = [w for w in self._own_weights if w.trainable]
        nested = [w for layer in self._sublayers() for w in layer.trainable_weights]
        return _unique(own + nested)

    @property
    def non_trainable_weights(self):
        trainable = self.trainable_weights
        return [w for w in self.weights if all(w is not t for t in trainable)]

    # Keras 3's names for the same lists (what stateless_call takes values for)
    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, values):
        weights = self.weights
        if len(values) != len(weights):
            raise ValueError(f"Layer '{self.name}' expects {len(weights)} weights, received {len(values)}")
        for w, v in zip(weights, values):
            w.assign(v)

    def stateless_call(self, trainable_variables, non_trainable_variables, *args, **kwargs):
        """Keras 3's functional form of a call: run `self(*args, **kwargs)` (the same training
        resolution as a direct call: TRAIN.STATELESS_CALL_PROPAGATES) with the given values in
        place of the variables', and return `(outputs, non-trainable values after the call)`,
        leaving the variables themselves as they were (TRAIN.STATELESS_CALL_RETURNS_UPDATED_STATS)."""
        trainable, non_trainable = self.trainable_variables, self.non_trainable_variables
        for given, held, kind in (
            (trainable_variables, trainable, "trainable"),
            (non_trainable_variables, non_trainable, "non-trainable"),
        ):
            if len(given) != len(held):
                raise ValueError(f"Layer '{self.name}' has {len(held)} {kind} variables, received {len(given)} values")
        held = trainable + non_trainable
        saved = [v.numpy() for v in held]
        try:
            for variable, value in zip(held, list(trainable_variables) + list(non_trainable_variables)):
                variable.assign(value)
            outputs = self(*args, **kwargs)
            updated = [v.numpy() for v in non_trainable]
        finally:
            for variable, value in zip(held, saved):
                variable.assign(value)
        return outputs, updated

    # ------------------------------------------------------------ overridables
    def build(self, input_shape):
        """The default: nothing to create; marks the layer built, as Keras 3's Layer.build does
        (`Model.build(shape)` on a subclassed model creates no weights: BUILD.MODEL_BUILD_MARKS_ONLY.K3)."""
        self.built = True
        self._lock_state()

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call()")

    def compute_output_shape(self, input_shape):
        raise NotImplementedError

    # --------------------------------------------------------------- __call__
    # Keras 3 (CALL.NON_TENSOR_POSITIONAL_REJECTED.K3): positional arguments must be tensors or None;
    # functional models opt out (their second positional parameter is `training`).
    _allow_non_tensor_positional_args = False

    def __call__(self, *args, **kwargs):
        args, kwargs = self._convert_inputs(args, kwargs)
        if not self._allow_non_tensor_positional_args:
            for leaf in _flatten_all(args, {}):
                if leaf is not None and not _is_array_like(leaf):
                    raise ValueError(
                        "Only input tensors may be passed as positional arguments. The following "
                        f"argument value should be passed as a keyword argument: {leaf!r} "
                        f"(of type {type(leaf)})"
                    )
        first_input = args[0] if args else next(iter(kwargs.values()), None)
        assert_input_compatibility(self.input_spec, first_input, self.name)
        self._maybe_build(args, kwargs, first_input)

        autocast = self.compute_dtype if self.compute_dtype != self.variable_dtype else None
        with context.call_context(self) as ctx, variables.autocast_scope(autocast):
            signature = inspect.signature(self.call)
            explicit = {k: kwargs.pop(k) for k in ["training"] if k in kwargs}
            param = signature.parameters.get("training")
            default = None if param is None or param.default is inspect.Parameter.empty else param.default
            training = context.resolve_training(ctx, explicit, default)
            if param is not None and training is not None:
                kwargs["training"] = training

            if any(is_symbolic(x) for x in _flatten_all(args, kwargs)):
                outputs = self._symbolic_call(args, kwargs, explicit)
            else:
                outputs = self.call(*args, **kwargs)
        self.built = True
        return outputs

    def _convert_inputs(self, args, kwargs):
        """numpy and Python numbers become tensors; floating inputs are cast to the compute dtype."""

        def convert(x):
            if is_symbolic(x):
                if variables.is_floating(x.dtype) and x.dtype != self.compute_dtype:
                    cast = SymbolicTensor(x.shape, self.compute_dtype, x.name)
                    cast.node = x.node
                    return cast
                return x
            if not _is_array_like(x):
                return x
            x = np.asarray(x)
            if variables.is_floating(x.dtype) and x.dtype != self.compute_dtype:
                x = x.astype(self.compute_dtype)
            return x

        return _map_structure(convert, args), {
            k: _map_structure(convert, v) if k != "training" else v for k, v in kwargs.items()
        }

    def _maybe_build(self, args, kwargs, first_input):
        if self.built:
            return
        params = [
            p
            for p in inspect.signature(self.build).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if len(params) <= 1:
            self.build(*([_shape_of(first_input)] if params else []))
        else:
            bound = inspect.signature(self.call).bind_partial(*args, **kwargs).arguments
            self.build(
                **{
                    f"{name}_shape": _shape_of(value)
                    for name, value in bound.items()
                    if all(_is_array_like(leaf) for leaf in _flatten_all([value], {}))
                }
            )
        self.built = True
        self._lock_state()
        # build may have set or refined input_spec (Dense does): check again.
        assert_input_compatibility(self.input_spec, first_input, self.name)

    def _symbolic_call(self, args, kwargs, explicit):
        """Symbolic outputs (fresh tensors, even for an identity layer) that remember this call:
        a functional model replays it, with the `training` given here if one was (`explicit`)."""
        outputs = _map_structure(
            lambda t: SymbolicTensor(t.shape, t.dtype) if is_symbolic(t) else t,
            self.compute_output_spec(*args, **kwargs),
        )
        node_kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        node = Node(self, args, node_kwargs, explicit, outputs)
        for leaf in _flatten_all([outputs], {}):
            if is_symbolic(leaf):
                leaf.node = node
        return outputs

    def compute_output_spec(self, *args, **kwargs):
        """Symbolic outputs: from `compute_output_shape` when defined, else by tracing `call`."""
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            first_input = args[0] if args else next(iter(kwargs.values()))
            shape = self.compute_output_shape(_shape_of(first_input))
            return _map_shapes(lambda s: SymbolicTensor(s, self.compute_dtype), shape)
        return self.call(*args, **kwargs)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name} built={self.built}>"


def _dtype_policy(dtype):
    """(variable dtype, compute dtype) of a layer's `dtype`: a dtype name gives both, a mixed
    policy "mixed_<compute>" (mixed_float16, mixed_bfloat16) keeps float32 variables
    (DTYPE.LAYER_DTYPE_HONOURED, DTYPE.MIXED_POLICY)."""
    name = str(dtype or "float32")
    if name.startswith("mixed_"):
        return "float32", str(variables.numpy_dtype(name.removeprefix("mixed_")))
    return str(variables.numpy_dtype(name)), str(variables.numpy_dtype(name))


def _map_shapes(fn, shape):
    """`fn` of each shape in a structure of shapes (a shape is a tuple of ints and Nones; a
    layer with several outputs returns a tuple or list of them: MULTI.LIST_INPUT_DIFFERENT_SHAPES)."""
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
        return type(shape)(_map_shapes(fn, s) for s in shape)
    return fn(shape)


def _holds_layer(value):
    if isinstance(value, Layer):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_layer(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_layer(item) for item in value.values())
    return False


def _unique(items):
    """Items in order, each object once (by identity: weights are compared by object)."""
    unique = []
    for item in items:
        if all(item is not u for u in unique):
            unique.append(item)
    return unique


def _flatten_all(args, kwargs):
    leaves = []
    _map_structure(leaves.append, (list(args), list(kwargs.values())))
    return leaves
