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
