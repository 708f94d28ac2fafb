"""The suites' error oracles ask for what their clause states, no more, and no less.

1. The message helpers (suites/_helpers.py): a call wrapper's frame (Keras 3's and tf-keras's
   "Exception encountered when calling X. ... Arguments received by X: • inputs=[...]", put around
   every exception raised in a layer's `call`) never satisfies an oracle, and any wording that
   carries the clause's content does.
2. The wording audit: every text an oracle looks for in an error message (a regular expression
   given to `re.search`/`re.match`/`pytest.raises(match=...)`, a string tested with `in` against a
   message) uses only words of the statements of the clauses its check cites, or the few generic
   words of WORDING_ALLOWED, each with its reason. A check that asks for one backend's wording
   (Keras 3's "expects 2 input(s) ... received 1 input") names a word no clause states, and fails
   here with the file, line and word.
"""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

from layercontract.spec import clauses as spec_clauses
from layercontract.suites import _helpers as H

SUITES = pathlib.Path(H.__file__).resolve().parent

# What the three wrappers look like (copied from real runs: Keras 3.15.1 on numpy, tf-keras 2.21.0).
KERAS3_WRAPPED = (
    "Exception encountered when calling Concatenate.call().\n\n\x1b[1mall the input arrays must have "
    "same number of dimensions, but the array at index 0 has 3 dimension(s) and the array at index 1 "
    "has 2 dimension(s)\x1b[0m\n\nArguments received by Concatenate.call():\n  • inputs=["
    "'np.ndarray(shape=(2, 3, 5), dtype=float32)', 'np.ndarray(shape=(2, 3), dtype=float32)']"
)
TF_KERAS_WRAPPED = (
    "Exception encountered when calling layer 'two_arguments' (type TwoArguments).\n\nboom 7\n\n"
    "Call arguments received by layer 'two_arguments' (type TwoArguments):\n"
    "  • a=tf.Tensor(shape=(2, 3), dtype=float32)\n  • b=tf.Tensor(shape=(2, 3, 1), dtype=float32)"
)
KERAS3_COUNT = (
    'Layer "g" expects 2 input(s), but it received 1 input tensors. Inputs received: '
    "[<tf.Tensor: shape=(2, 3), dtype=float32, numpy= array([[1., 1., 1.], [1., 1., 1.]], dtype=float32)>]"
)


def test_own_message_drops_the_call_wrappers_frame():
    assert H.own_message(ValueError(KERAS3_WRAPPED)).startswith("all the input arrays must have same number")
    assert "shape=" not in H.own_message(ValueError(KERAS3_WRAPPED))
    assert H.own_message(ValueError(TF_KERAS_WRAPPED)) == "boom 7"
    assert H.own_message(ValueError("Layer 'd' rejected (2, 3)")) == "Layer 'd' rejected (2, 3)"  # no wrapper


def test_a_wrapper_alone_satisfies_no_oracle():
    own = H.own_message(ValueError(KERAS3_WRAPPED))
    assert H.mentions_shape(H.clean_message(ValueError(KERAS3_WRAPPED)), (2, 3))  # the whole message would pass
    assert not H.mentions_shape(own, (2, 3)) and not H.mentions_shape(own, (2, 3, 5))
    own = H.own_message(ValueError(TF_KERAS_WRAPPED))
    assert "two_arguments" not in own  # tf-keras's frame names the layer: not the rejection's words
    with pytest.raises(AssertionError, match="lacks layer name 'two_arguments'"):
        H.assert_names_counts(own, layer="two_arguments", expected=2, received=7)


@pytest.mark.parametrize(
    "message",
    [
        KERAS3_COUNT,  # Keras 3, tf-keras, the reference
        "Layer 'g': 1 input tensor given, 2 expected",  # another order and wording
        "g needs exactly 2 inputs, got 1: [array(shape=(2, 3))]",
    ],
)
def test_the_count_oracle_accepts_any_wording_that_names_layer_and_counts(message):
    H.assert_names_counts(message, layer="g", expected=2, received=1)


@pytest.mark.parametrize(
    "message, lacking",
    [
        (
            'Layer "g" expects some inputs. Inputs received: [array(shape=(2, 1))]',
            "expected count 2",
        ),  # counts only in shapes
        ('Layer "g_1" expects 2 input(s)', "received count 1"),  # the 1 is the layer's name
        ("expects 2 input(s), but it received 1 input tensors", "layer name 'g'"),
    ],
)
def test_the_count_oracle_rejects_counts_found_only_in_echoes_or_names(message, lacking):
    layer = "g_1" if "g_1" in message else "g"
    with pytest.raises(AssertionError, match=re.escape(lacking)):
        H.assert_names_counts(message, layer=layer, expected=2, received=1)


@pytest.mark.parametrize(
    "message, index, named",
    [
        ("Input 1 of layer 'x' is incompatible", 1, True),
        ("inputs[1] has rank 3", 1, True),
        ("the input at index 1 has rank 3", 1, True),
        ("Input #0 is bad", 0, True),
        ("expects 2 input(s), but it received 1 input tensors", 1, False),
    ],
)
def test_input_index_in_any_common_wording(message, index, named):
    assert H.names_input_index(message, index) is named


def test_message_values_in_any_wording():
    keras = "Input 0 of layer 'g' is incompatible with the layer: expected ndim=2, found ndim=3. Full shape received: (2, 3, 1)"
    other = "layer g, input 0: ndim must be 2 but is 3 (shape (2, 3, 1))"
    for message in (keras, other):
        H.assert_message_names(message, layer="g", index=0, prop="ndim", expected=2, received=3, full_shape=(2, 3, 1))
    with pytest.raises(AssertionError, match="received value 3"):  # a 3 inside the shape is not the rank
        H.assert_message_names(
            "layer g, input 0: ndim must be 2 (shape (2, 3, 1))",
            layer="g",
            index=0,
            prop="ndim",
            expected=2,
            received=3,
        )
    assert H.names_number("rate must be within [0, 1], got 1.5", 1.0) is False  # inside brackets: the range
    assert H.names_number("rate=1.0 is not allowed", 1.0) and H.names_number("rate 1 is not allowed", 1.0)


# ------------------------------------------------------------------ the wording audit
# Words an oracle may use although no cited clause states them: grammar and the ways of naming an
# input's position, never a backend's phrase. Each needs its reason.
WORDING_ALLOWED = {
    "been": "'has been built' is the other common way of saying 'already built' (BUILD.STATE_LOCKED_AFTER_BUILD.K3)",
    "inputs": "plural of input: 'inputs[1]'",
    "at": "'input at index 1'",
    "position": "'input at position 1': another way of naming an input's index",
}
RE_FUNCTIONS = {"search", "match", "fullmatch", "findall", "finditer", "compile", "sub"}
# Regular expressions in suites/_helpers.py that recognise a wrapper's frame (to remove it) or a
# shape, not what a rejection must say.
NOT_ORACLES = {
    "_CALL_WRAPPER",
    "_ARGUMENT_ECHO",
    "ANSI",
    "outside_brackets",
    "mentions_shape",
    "names_number",
    "names_value",
}


def _literal_text(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f-string: its literal parts (the values are the check's data)
        return " ".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _words(text: str) -> set[str]:
    text = re.sub(r"\\[A-Za-z]", " ", text)  # regex escapes: \b \s \w \d
    text = re.sub(r"\(\?[:!=<]+", " ", text)  # group syntax
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z_]+", text)}


def _stated(word: str, statements: str) -> bool:
    stems = {word, word.rstrip("s"), re.sub(r"(ed|ing|es)$", "", word)}
    return any(re.search(rf"\b{re.escape(s)}", statements) for s in stems if len(s) >= 2)


def _oracle_texts(tree):
    """(line, text, enclosing top-level name) for every text an oracle looks for."""
    for top in tree.body:
        name = getattr(top, "name", None) or next(
            (t.id for t in getattr(top, "targets", []) if isinstance(t, ast.Name)), None
        )
        for node in ast.walk(top):
            if isinstance(node, ast.Call):
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "re"
                    and func.attr in RE_FUNCTIONS
                    and node.args
                ):
                    text = _literal_text(node.args[0])
                    if text is not None and not (func.attr == "sub" and not text.strip()):
                        yield node.lineno, text, name
                for kw in node.keywords:
                    if kw.arg == "match" and isinstance(func, ast.Attribute) and func.attr == "raises":
                        text = _literal_text(kw.value)
                        if text is not None:
                            yield node.lineno, text, name
            elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In) for op in node.ops):
                text = _literal_text(node.left)
                target = node.comparators[0]
                if text is not None and isinstance(target, ast.Name) and "message" in target.id:
                    yield node.lineno, text, name


def _cited(tree) -> dict[str, set[str]]:
    cited = {}
    for top in tree.body:
        if isinstance(top, ast.FunctionDef):
            for dec in top.decorator_list:
                if isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "clause":
                    cited.setdefault(top.name, set()).update(a.value for a in dec.args)
    return cited


def wording_findings(suites_dir: pathlib.Path = SUITES) -> list[str]:
    """One line per word an oracle asks for that no clause it serves states."""
    statements = {cid: c.statement.lower() for cid, c in spec_clauses.load().items()}
    everything = " ".join(statements.values())
    findings = []
    for path in sorted(suites_dir.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        cited = _cited(tree)
        module_clauses = set().union(*cited.values()) if cited else set()
        for line, text, name in _oracle_texts(tree):
            if path.name == "_helpers.py" and name in NOT_ORACLES:
                continue
            if name in cited:
                scope = " ".join(statements[c] for c in cited[name])
            elif module_clauses:  # a helper of one module serves that module's clauses
                scope = " ".join(statements[c] for c in module_clauses)
            else:  # a shared helper (suites/_helpers.py) serves any clause
                scope = everything
            for word in sorted(_words(text)):
                if word not in WORDING_ALLOWED and not _stated(word, scope):
                    findings.append(
                        f"{path.name}:{line} ({name}): {word!r} in {text!r} is stated by no clause it checks"
                    )
    return findings


def test_no_oracle_demands_wording_beyond_its_clauses():
    findings = wording_findings()
    assert not findings, "checks stricter than their clauses:\n" + "\n".join(findings)


def test_the_audit_flags_a_backends_wording(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "import re\nimport pytest\nfrom layercontract.spec.harness import clause\n\n"
        "@clause('INPUT.NUMBER_OF_INPUTS')\n"
        "def test_count(K):\n"
        "    with pytest.raises(ValueError, match=r'received 1 input') as info:\n"
        "        pass\n"
        "    message = str(info.value)\n"
        "    assert re.search(r'expects 2 input\\(s\\).*received 1 input', message)\n"
        "    assert 'Inputs received' in message\n"
    )
    findings = wording_findings(tmp_path)
    assert any("'expects'" in f and "test_x.py:10" in f for f in findings), findings
    assert not any("'received'" in f for f in findings), findings  # "the number received" is stated
    assert len(findings) == 1, findings
