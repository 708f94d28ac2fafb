"""Small custom layers the suites build on any backend's `Layer` class."""


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


def guarded_layer(K, spec=None):
    """A layer whose InputSpec is set in __init__ (`spec`: keyword arguments of one InputSpec,
    a list of them for a list input, or None); it records "build" and "call" events."""

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

    return Guarded()
