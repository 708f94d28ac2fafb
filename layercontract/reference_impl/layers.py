"""Built-in layers: Dense, Dropout, GaussianDropout, GaussianNoise, BatchNormalization, Concatenate, Embedding."""

import numpy as np

from layercontract.reference_impl import autodiff, ops, random
from layercontract.reference_impl.input_spec import InputSpec
from layercontract.reference_impl.layer import Layer

ACTIVATIONS = {None: lambda x: x, "linear": lambda x: x, "relu": ops.relu}


class Dense(Layer):
    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        if activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; known: {[a for a in ACTIVATIONS if a]}")
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer, name="kernel")
        self.bias = (
            self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return ACTIVATIONS[self.activation](outputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


class Dropout(Layer):
    """Training: zero each element with probability `rate`, scale survivors by 1/(1-rate).
    Inference (`training` False or None): identity."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(
                f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                f"Received: rate={rate}"
            )
        self.rate = rate
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        generator = self._generator or random.global_generator()
        keep = generator.random(inputs.shape) >= self.rate
        scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)
        return ops.multiply(inputs, (keep * scale).astype(inputs.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class _Noise(Layer):
    """Training: the input with Gaussian noise drawn in the compute dtype (DTYPE.MIXED_NOISE), from
    the layer's own generator when seeded; inference (`training` False or None): identity."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def _normal(self, mean, stddev, like):
        generator = self._generator or random.global_generator()
        return generator.normal(mean, stddev, size=like.shape).astype(like.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class GaussianDropout(_Noise):
    """Training: multiply by noise of mean 1 and standard deviation sqrt(rate / (1 - rate))."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(
                f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                f"Received: rate={rate}"
            )
        self.rate = rate

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return ops.multiply(inputs, self._normal(1.0, np.sqrt(self.rate / (1.0 - self.rate)), inputs))


class GaussianNoise(_Noise):
    """Training: add noise of mean 0 and standard deviation `stddev`."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = stddev

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        return ops.add(inputs, self._normal(0.0, self.stddev, inputs))


class Embedding(Layer):
    """Rows of a (input_dim, output_dim) table, held in the variable dtype (float32 under a mixed
    policy) and returned in the compute dtype (DTYPE.MIXED_EMBEDDING); integer ids are not cast."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="random_normal", **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = embeddings_initializer

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer, name="embeddings"
        )

    def call(self, inputs):
        ids = np.asarray(inputs).astype("int64")
        outputs = self.embeddings.value[ids].astype(self.compute_dtype)

        def vjp(g):
            table_grad = np.zeros(self.embeddings.shape, dtype="float32")
            np.add.at(table_grad, ids, np.asarray(g, dtype="float32"))
            return [None, table_grad]

        return autodiff.record(outputs, [inputs, self.embeddings], vjp)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)


class BatchNormalization(Layer):
    """Training and trainable: normalize with the batch mean and biased variance, then update
    `moving = momentum * moving + (1 - momentum) * batch`. Otherwise: use moving statistics."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.momentum = momentum
        self.epsilon = epsilon
        self.center = center
        self.scale = scale

    def build(self, input_shape):
        shape = (input_shape[self.axis],)
        # In the variable dtype and never autocast: float32 statistics under mixed_float16 (DTYPE.MIXED_BATCHNORM)
        self.gamma = (
            self.add_weight(shape=shape, initializer="ones", name="gamma", autocast=False) if self.scale else None
        )
        self.beta = (
            self.add_weight(shape=shape, initializer="zeros", name="beta", autocast=False) if self.center else None
        )
        self.moving_mean = self.add_weight(
            shape=shape, initializer="zeros", trainable=False, name="moving_mean", autocast=False
        )
        self.moving_variance = self.add_weight(
            shape=shape, initializer="ones", trainable=False, name="moving_variance", autocast=False
        )
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: input_shape[self.axis]})

    def _broadcast(self, v, ndim):
        shape = [1] * ndim
        shape[self.axis] = -1
        return np.reshape(v, shape)

    def call(self, inputs, training=None):
        x = inputs.astype("float32") if inputs.dtype in ("float16", "bfloat16") else inputs  # statistics in float32
        reduce_axes = tuple(a for a in range(x.ndim) if a != self.axis % x.ndim)
        if training and self.trainable:
            mean = x.mean(axis=reduce_axes)
            variance = x.var(axis=reduce_axes)  # biased (divides by n)
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
                moving.assign(self.momentum * moving.value + (1.0 - self.momentum) * batch)
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        gamma = self.gamma.value if self.scale else np.ones_like(mean)
        beta = self.beta.value if self.center else np.zeros_like(mean)
        b = lambda v: self._broadcast(v, x.ndim)  # noqa: E731
        inv_std = 1.0 / np.sqrt(variance + self.epsilon)
        x_hat = (x - b(mean)) * b(inv_std)
        outputs = (x_hat * b(gamma) + b(beta)).astype(x.dtype)
        outputs = outputs.astype(inputs.dtype)  # back to the compute dtype (float16 under mixed_float16)

        batch_stats = bool(training and self.trainable)

        def vjp(g):
            n = np.prod([x.shape[a] for a in reduce_axes])
            g_xhat = g * b(gamma)
            if batch_stats:
                g_x = (
                    b(inv_std)
                    / n
                    * (
                        n * g_xhat
                        - g_xhat.sum(axis=reduce_axes, keepdims=True)
                        - x_hat * (g_xhat * x_hat).sum(axis=reduce_axes, keepdims=True)
                    )
                )
            else:
                g_x = g_xhat * b(inv_std)
            return [g_x, (g * x_hat).sum(axis=reduce_axes), g.sum(axis=reduce_axes)]

        return autodiff.record(outputs, [inputs, self.gamma, self.beta], vjp)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], tuple):
            raise ValueError(
                "A `Concatenate` layer should be called on a list of at least 1 input. "
                f"Received: input_shape={input_shape}"
            )
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            self._raise_mismatch(input_shape)
        rank = ranks.pop()
        axis = self.axis % rank
        for a in range(rank):
            if a == axis:
                continue
            known = {s[a] for s in input_shape if s[a] is not None}
            if len(known) > 1:
                self._raise_mismatch(input_shape)

    def _raise_mismatch(self, input_shape):
        raise ValueError(
            "A `Concatenate` layer requires inputs with matching shapes except for the "
            f"concatenation axis. Received: input_shape={list(input_shape)}"
        )

    def call(self, inputs):
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = list(input_shape)
        out = list(shapes[0])
        sizes = [s[self.axis] for s in shapes]
        out[self.axis] = None if None in sizes else sum(sizes)
        return tuple(out)


__all__ = [
    "Layer",
    "InputSpec",
    "Dense",
    "Dropout",
    "GaussianDropout",
    "GaussianNoise",
    "BatchNormalization",
    "Concatenate",
    "Embedding",
]
