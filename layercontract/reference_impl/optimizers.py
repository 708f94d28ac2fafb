"""Optimizers. SGD without momentum: w <- w - learning_rate * grad (Keras default 0.01)."""


class SGD:
    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate

    def apply(self, grads, variables):
        for grad, variable in zip(grads, variables):
            variable.assign(variable.value - self.learning_rate * grad)


def get(optimizer):
    if isinstance(optimizer, SGD):
        return optimizer
    if optimizer == "sgd":
        return SGD()
    raise ValueError(f"Unknown optimizer {optimizer!r}; known: ['sgd']")
