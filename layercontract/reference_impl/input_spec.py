"""InputSpec and the compatibility check `Layer.__call__` runs before `build` and `call`."""

import numpy as np


class InputSpec:
    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None, name=None):
        self.dtype = None if dtype is None else str(np.dtype(dtype))
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})
        self.name = name

    def __repr__(self):
        fields = {k: v for k, v in vars(self).items() if v not in (None, {})}
        return f"InputSpec({', '.join(f'{k}={v!r}' for k, v in fields.items())})"


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _flatten(item)]
    return [x]


def _shape(x):
    return tuple(None if d is None else int(d) for d in x.shape)


def assert_input_compatibility(input_spec, inputs, layer_name):
    """Raise ValueError naming layer, input index, property, expected and received values."""
    if not input_spec:
        return
    specs = _flatten(input_spec)
    tensors = _flatten(inputs)
    if len(tensors) != len(specs):
        raise ValueError(
            f"Layer '{layer_name}' expects {len(specs)} input(s), but it received {len(tensors)} input tensors."
        )
    for index, (x, spec) in enumerate(zip(tensors, specs)):
        if spec is None:
            continue
        shape = _shape(x)
        ndim = len(shape)

        def fail(expected, found):
            raise ValueError(
                f"Input {index} of layer '{layer_name}' is incompatible with the layer: "
                f"expected {expected}, found {found}. Full shape received: {shape}"
            )

        if spec.ndim is not None and ndim != spec.ndim:
            fail(f"ndim={spec.ndim}", f"ndim={ndim}")
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            fail(f"max_ndim={spec.max_ndim}", f"ndim={ndim}")
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            fail(f"min_ndim={spec.min_ndim}", f"ndim={ndim}")
        if spec.dtype is not None and str(np.dtype(x.dtype)) != spec.dtype:
            fail(f"dtype={spec.dtype}", f"dtype={np.dtype(x.dtype)}")
        for axis, value in spec.axes.items():
            if value is not None and shape[axis] not in (value, None):
                fail(f"axis {axis} of input shape to have value {value}", f"value {shape[axis]}")
        if spec.shape is not None:
            for spec_dim, dim in zip(spec.shape, shape):
                if spec_dim is not None and dim is not None and spec_dim != dim:
                    fail(f"shape={spec.shape}", f"shape={shape}")
