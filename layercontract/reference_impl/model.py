"""`Model`: a Layer with compile / fit / evaluate / predict and their *_on_batch forms, either
subclassed (its own `call`) or functional (`Model(inputs, outputs)`: the recorded layer calls
replayed by `_run_graph`).

Which `training` value the train and inference steps pass follows Keras 3
(keras/src/backend/*/trainer.py): `training=True` (resp. `False`) is passed only when the
model's `call` has a `training` parameter; otherwise the model is called without it
(clause TRAIN.FIT_NO_TRAINING_PARAM.K3).
"""

import inspect

import numpy as np

from layercontract.reference_impl import autodiff, context, losses, optimizers
from layercontract.reference_impl.layer import Layer, _flatten_all, _map_structure
from layercontract.reference_impl.symbolic import is_symbolic


def _floats(x):
    """The data as float32 arrays, keeping its structure (a dict or list of model inputs)."""
    return _map_structure(lambda v: np.asarray(v, dtype="float32"), x)


def _rows(x, index):
    """The rows `index` of every array in the structure `x`."""
    return _map_structure(lambda v: np.asarray(v)[index], x)


def _length(x):
    return len(_flatten_all([x], {})[0])


class History:
    def __init__(self):
        self.history = {"loss": []}


class Model(Layer):
    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.optimizer = None
        self.loss = None
        self._graph = None
        if inputs is not None or outputs is not None:
            self._init_graph(inputs, outputs)

    # ------------------------------------------------------------ functional
    def _init_graph(self, inputs, outputs):
        """Record the layer calls between `inputs` and `outputs` in execution order."""
        input_ids = {id(t) for t in _flatten_all([inputs], {})}
        nodes, seen = [], set()

        def visit(tensor):
            if not is_symbolic(tensor) or id(tensor) in input_ids:
                return
            node = tensor.node
            if node is None:
                raise ValueError(f"Output tensor {tensor} is not connected to the model inputs")
            if id(node) in seen:
                return
            seen.add(id(node))
            for leaf in _flatten_all(node.args, node.kwargs):
                visit(leaf)
            nodes.append(node)

        for leaf in _flatten_all([outputs], {}):
            visit(leaf)
        self._graph = (inputs, outputs, nodes)
        layers = []
        for node in nodes:
            if all(node.layer is not known for known in layers):
                layers.append(node.layer)
        self._graph_layers = layers  # tracked as sub-layers (weights, trainable)
        self._allow_non_tensor_positional_args = True
        self.built = True
        self._lock_state()

    def call(self, inputs, training=None):
        if self._graph is None:
            raise NotImplementedError(f"Model {type(self).__name__} does not implement call()")
        return self._run_graph(inputs, training)

    def _run_graph(self, inputs, training):
        """Replay each recorded layer call on the values. Every node starts from the model's own
        `training`; a value given at construction wins for its node only
        (TRAIN.FUNCTIONAL_PINNED_WINS, TRAIN.FUNCTIONAL_PINNED_IS_LOCAL)."""
        graph_inputs, graph_outputs, nodes = self._graph
        values = self._route_inputs(graph_inputs, inputs)

        def value(t):
            return values[id(t)] if is_symbolic(t) else t

        ctx = context.current()
        for node in nodes:
            ctx.training = training
            outputs = node.layer(
                *_map_structure(value, node.args),
                **{k: _map_structure(value, v) for k, v in node.kwargs.items()},
                **node.pinned,
            )
            for symbolic, concrete in zip(_flatten_all([node.outputs], {}), _flatten_all([outputs], {})):
                values[id(symbolic)] = concrete
        ctx.training = training
        return _map_structure(value, graph_outputs)

    def _route_inputs(self, graph_inputs, inputs):
        """{id(graph input): value}. A dict goes by name (the keys of a dict-built model, else the
        Inputs' names) and its other keys are ignored (INPUT.DICT_ROUTED_BY_NAME,
        INPUT.DICT_EXTRA_KEYS_IGNORED); a missing name is rejected (INPUT.DICT_MISSING_KEY_REJECTED).
        Anything else is flattened and must hold one value per input (INPUT.MODEL_INPUT_COUNT): a
        bare tensor or a one-element list both feed a one-input model (INPUT.SINGLE_INPUT_ANY_WRAPPING)."""
        declared = _flatten_all([graph_inputs], {})
        if isinstance(inputs, dict):
            names = list(graph_inputs) if isinstance(graph_inputs, dict) else [t.name for t in declared]
            missing = [name for name in names if name not in inputs]
            if missing:
                raise ValueError(
                    f'Missing data for input "{missing[0]}". You passed a data dictionary with '
                    f"keys {list(inputs)}. Expected the following keys: {names}"
                )
            given = [inputs[name] for name in names]
        else:
            if isinstance(graph_inputs, dict) and list(graph_inputs) != sorted(graph_inputs):
                # a list would be matched in sorted key order, not the order the dict was written in:
                # ambiguous, so refused (INPUT.LIST_INTO_DICT_BUILT_MODEL)
                raise ValueError(
                    f"Model '{self.name}' was built from a dict of inputs with keys {list(graph_inputs)}: "
                    "pass its inputs as a dict with these keys, not as a list."
                )
            given = _flatten_all([inputs], {})
            if len(given) != len(declared):
                raise ValueError(
                    f"Model '{self.name}' expects {len(declared)} input(s), but it received {len(given)} input tensors."
                )
        return {id(t): x for t, x in zip(declared, given)}

    def compile(self, optimizer="sgd", loss="mse"):
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        # The trainable variables are taken afresh at the first step after each compile
        # (TRAIN.TRAINABLE_RECOMPILE); what a step without recompiling trains is not specified.
        self._train_variables = None

    def _call_has_training_arg(self):
        return "training" in inspect.signature(self.call).parameters

    def _forward(self, x, training):
        if self._call_has_training_arg():
            return self(x, training=training)
        return self(x)

    def _require_compiled(self):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError("You must call `compile()` before training or evaluating the model.")

    # ------------------------------------------------------------------ steps
    def train_on_batch(self, x, y):
        self._require_compiled()
        x, y = _floats(x), np.asarray(y, dtype="float32")
        with autodiff.tape() as tape:
            y_pred = self._forward(x, training=True)
            loss, loss_grad = self.loss(y, y_pred)
            if getattr(self, "_train_variables", None) is None:
                self._train_variables = self.trainable_weights
            variables = self._train_variables
            grads = tape.gradients(y_pred, loss_grad, variables)
        self.optimizer.apply(grads, variables)
        return float(loss)

    def test_on_batch(self, x, y):
        self._require_compiled()
        y_pred = self._forward(_floats(x), training=False)
        loss, _ = self.loss(np.asarray(y, dtype="float32"), y_pred)
        return float(loss)

    def predict_on_batch(self, x):
        return _map_structure(np.asarray, self._forward(_floats(x), training=False))

    # -------------------------------------------------------------- epochs
    def fit(self, x, y, batch_size=32, epochs=1, shuffle=True, verbose="auto", seed=None):
        history = History()
        n = _length(x)
        order_rng = np.random.default_rng(seed)
        for _ in range(epochs):
            order = order_rng.permutation(n) if shuffle else np.arange(n)
            losses_ = [
                self.train_on_batch(_rows(x, idx), np.asarray(y)[idx])
                for idx in np.array_split(order, max(1, -(-n // batch_size)))
            ]
            history.history["loss"].append(float(np.mean(losses_)))
        return history

    def evaluate(self, x, y, batch_size=32, verbose="auto"):
        n = _length(x)
        batches = np.array_split(np.arange(n), max(1, -(-n // batch_size)))
        sizes = [len(b) for b in batches]
        losses_ = [self.test_on_batch(_rows(x, b), np.asarray(y)[b]) for b in batches]
        return float(np.average(losses_, weights=sizes))

    def predict(self, x, batch_size=32, verbose="auto"):
        n = _length(x)
        batches = np.array_split(np.arange(n), max(1, -(-n // batch_size)))
        parts = [self.predict_on_batch(_rows(x, b)) for b in batches]
        if isinstance(parts[0], (list, tuple)):  # a model with several outputs: one array each
            return [np.concatenate(leaf, axis=0) for leaf in zip(*parts)]
        return np.concatenate(parts, axis=0)


class Sequential(Model):
    """A stack of layers, each called on the previous one's output with the `training` value the
    model was called with (TRAIN.SEQUENTIAL_FORWARDS_TRAINING), as Keras 3's Sequential.call does.
    Built on its first call, or at construction when its first item is an `Input` (then its
    layers are called on it, which builds them)."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        items = list(layers or [])
        self._input = items.pop(0) if items and is_symbolic(items[0]) else None
        self._layers = items
        if self._input is not None:
            self(self._input)

    @property
    def layers(self):
        return list(self._layers)

    def add(self, layer):
        self._layers = self._layers + [layer]

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._layers:
            x = layer(x, training=training) if "training" in inspect.signature(layer.call).parameters else layer(x)
        return x
