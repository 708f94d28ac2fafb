"""The versioned formats layercontract writes and reads, and reading them with clear errors.

    layercontract-run/4     one run record (reports/records.py; run-record.schema.json)
    layercontract-run/3     the previous run record, still read (run-record.v3.schema.json)
    layercontract-run/2     the one before, still read (run-record.v2.schema.json)
    layercontract-matrix/2  merged records (reports/merge.py writes matrix.json; matrix.schema.json)
    kill matrix             {"faults": {name: {"description", "killed_by", "first_message"}}}

reports/SCHEMA.md documents the fields. The JSON Schema files are the machine-checked truth:
`load()` validates every file it reads against them with the small validator below (the
subset of JSON Schema 2020-12 the schema files use: type, const, enum, pattern, minimum,
required, properties, additionalProperties, items, $ref to #/$defs), so that a malformed,
truncated or foreign file is one error naming the file, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pathlib
import re
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
RUN_SCHEMA = "layercontract-run/4"
RUN_SCHEMA_V3 = "layercontract-run/3"
RUN_SCHEMA_V2 = "layercontract-run/2"
RUN_SCHEMAS = (
    RUN_SCHEMA,
    RUN_SCHEMA_V3,
    RUN_SCHEMA_V2,
)  # the run-record versions readers accept (records.load upgrades)
MATRIX_SCHEMA = "layercontract-matrix/2"
SCHEMA_FILES = {
    RUN_SCHEMA: HERE / "run-record.schema.json",
    RUN_SCHEMA_V3: HERE / "run-record.v3.schema.json",
    RUN_SCHEMA_V2: HERE / "run-record.v2.schema.json",
    MATRIX_SCHEMA: HERE / "matrix.schema.json",
}
KILL_MATRIX = "kill-matrix"  # unversioned: {"faults": {...}} (reference_impl/faults/'s mutation runs)


class ReportError(Exception):
    """A file that cannot be read as what it should be; the message names the file."""


@functools.cache
def json_schema(schema_id: str) -> dict:
    if schema_id == KILL_MATRIX:
        return KILL_MATRIX_SCHEMA
    return json.loads(SCHEMA_FILES[schema_id].read_text(encoding="utf-8"))


KILL_MATRIX_SCHEMA = {
    "type": "object",
    "required": ["faults"],
    "properties": {
        "faults": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["description", "killed_by"],
                "properties": {
                    "description": {"type": "string"},
                    "killed_by": {"type": "array", "items": {"type": "string"}},
                    "first_message": {"type": ["string", "null"]},
                },
            },
        }
    },
}


# ------------------------------------------------------------------ validation
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def errors(value, schema: dict, root: dict | None = None, where: str = "$") -> list[str]:
    """Every way `value` breaks `schema`, each as "<json path>: <problem>"."""
    root = root if root is not None else schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"unsupported $ref {ref}")
        return errors(value, root["$defs"][ref.removeprefix("#/$defs/")], root, where)
    found = []
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_is(value, t) for t in types):
            return [f"{where}: expected {' or '.join(types)}, found {_describe(value)}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: expected {schema['const']!r}, found {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of {', '.join(map(repr, schema['enum']))}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        found.append(f"{where}: {value!r} does not match {schema['pattern']!r}")
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        found.append(f"{where}: {value!r} is below the minimum {schema['minimum']}")
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                found.append(f"{where}: missing field {key!r}")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                found += errors(item, properties[key], root, f"{where}.{key}")
            elif extra is False:
                found.append(f"{where}: unknown field {key!r}")
            elif isinstance(extra, dict):
                found += errors(item, extra, root, f"{where}[{key!r}]")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += errors(item, schema["items"], root, f"{where}[{i}]")
    return found


def _describe(value) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


# --------------------------------------------------------------------- reading
def read_json(path) -> object:
    """The parsed JSON of `path`; ReportError naming the file if it is missing, not UTF-8,
    not JSON, or cut off (a truncated file says so)."""
    from layercontract.spec.harness import inputs

    path = pathlib.Path(path)
    try:
        text = inputs.read_text(path, MAX_INPUT_BYTES, "layercontract JSON")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except inputs.InputError as e:
        raise ReportError(str(e)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: cannot be read: {e}") from None
    if not text.strip():
        raise ReportError(f"{path}: empty file (truncated?)")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        what = "truncated JSON: the file ends early" if _cut_off(text) else "not valid JSON"
        raise ReportError(f"{path}: {what} (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except _NonStandard as e:
        raise ReportError(f"{path}: not strict JSON: {e} is not a JSON number") from None
    except RecursionError:
        raise ReportError(f"{path}: nested more than {MAX_DEPTH} levels deep: not a layercontract file") from None
    if _too_deep(data):
        raise ReportError(f"{path}: nested more than {MAX_DEPTH} levels deep: not a layercontract file")
    try:  # "\ud800" is valid JSON but no character: it could be neither written nor printed
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        raise ReportError(
            f"{path}: holds a lone surrogate ({e.object[e.start : e.end]!a}), which is no "
            "Unicode character: not a layercontract file"
        ) from None
    return data


MAX_DEPTH = 32  # layercontract's own files nest at most 6 levels
MAX_INPUT_BYTES = 64 * 1024 * 1024  # a matrix.json of every backend is a few MiB
MAX_NAME_CHARS = 200  # a backend name (registry.MAX_BACKEND_CHARS): it names files and every cell
MAX_KEY_CHARS = 1000  # a test id, clause id, version name
MAX_FIELD_CHARS = 20_000  # a message, a stack: longer ones are cut, with a note saying so


class _NonStandard(ValueError):
    pass


def _reject_constant(name):
    raise _NonStandard(name)  # NaN, Infinity, -Infinity: Python's json extension, not JSON


def _too_deep(data) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return False


def _cut_off(text: str) -> bool:
    """True if `text` ends inside a string or with open brackets (and its brackets match so
    far): the start of a JSON document whose end is missing, e.g. a record cut by a full disk."""
    stack, in_string, escaped = [], False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append("]" if ch == "[" else "}")
        elif ch in "]}":
            if not stack or stack.pop() != ch:
                return False
    return in_string or bool(stack)


def load(path, expected: str | tuple[str, ...]) -> dict:
    """A file of one of the `expected` schemas, validated: its data, or one ReportError
    naming the file (and at most a few of its problems)."""
    expected = (expected,) if isinstance(expected, str) else tuple(expected)
    path = pathlib.Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object, found {_describe(data)}")
    found = data.get("schema")
    if KILL_MATRIX in expected and found is None and "faults" in data:
        schema_id = KILL_MATRIX
    elif found in expected:
        schema_id = found
    else:
        names = " or ".join(repr(e) for e in expected if e != KILL_MATRIX) or "a kill matrix"
        if found is None:
            raise ReportError(f'{path}: not a layercontract file (no "schema" field); expected {names}')
        hint = ""
        if isinstance(found, str) and found.split("/")[0] in {s.split("/")[0] for s in expected}:
            hint = " (another version of the format: regenerate it with this version of layercontract)"
        raise ReportError(f"{path}: schema {found!r}, expected {names}{hint}")
    problems = errors(data, json_schema(schema_id))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise ReportError(f"{path}: not a valid {schema_id} file: {shown}")
    return bounded(data, path)


def cut(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    return (
        text
        if len(text) <= limit
        else f"{text[:limit]} [... cut by layercontract: {len(text) - limit} more characters]"
    )


def bounded(data, path):
    """`data` with no name or key longer than a file name or table cell can hold (a ReportError
    naming the field) and every other string cut to MAX_FIELD_CHARS with a note: what a report
    renders is bounded by its inputs' number of tests, never by one field's length."""

    def walk(value, where):
        if isinstance(value, str):
            return cut(value)
        if isinstance(value, list):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            out = {}
            for key, v in value.items():
                if len(key) > MAX_KEY_CHARS:
                    raise ReportError(
                        f"{path}: {where} has a key of {len(key)} characters ({key[:40]!r}...): "
                        f"at most {MAX_KEY_CHARS}; not a layercontract file"
                    )
                if key in ("backend", "requested_backend") and isinstance(v, str) and len(v) > MAX_NAME_CHARS:
                    raise ReportError(
                        f"{path}: {where}.{key} is {len(v)} characters long ({v[:40]!r}...): a backend "
                        f"name has at most {MAX_NAME_CHARS}; not a layercontract file"
                    )
                out[key] = walk(v, f"{where}.{key}" if len(key) < 40 else f"{where}[...]")
            return out
        return value

    return walk(data, "$")


def write_all(files: dict) -> dict:
    """Write several files all or none: every text goes to a temporary file first, then each is
    renamed into place; if anything fails, the files renamed so far get their old contents
    back, every temporary file is removed, and the error is raised (an OSError naming the file).
    `files`: {path: text}; returns {path: path}."""
    files = {pathlib.Path(p): t for p, t in files.items()}
    temps, backups, done = {}, {}, []
    try:
        for path in files:
            if path.is_dir():
                raise IsADirectoryError(21, "a directory is in the way", str(path))
            path.parent.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            temps[path] = write_temp(path, text)
        for path in files:
            if path.exists():  # a hard link keeps the old contents for a roll-back
                backup = pathlib.Path(tempfile.mktemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
                os.link(path, backup)
                backups[path] = backup
        for path in files:
            os.replace(temps.pop(path), path)
            done.append(path)
    except BaseException:
        for path in done:
            with contextlib.suppress(OSError):
                if path in backups:
                    os.replace(backups.pop(path), path)
                else:
                    path.unlink()
        raise
    finally:
        for leftover in (*temps.values(), *backups.values()):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return {path: path for path in files}


def write_temp(path, text: str) -> pathlib.Path:
    """`text` in a new temporary file beside `path`, named uniquely (two processes writing one
    path never share a temporary file); the caller renames it into place or removes it."""
    path = pathlib.Path(path)
    text = unicode_only(text)  # a path under an ASCII locale: its bytes, never an encoding error
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = pathlib.Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _umask() -> int:
    return _UMASK


def unicode_only(value):
    """`value` with every string made valid Unicode: the surrogate escapes of undecodable bytes
    (a path or argument under an ASCII locale) decoded as UTF-8, any other lone surrogate
    replaced - a record must be readable (schema.read_json refuses lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape" if _escapes_only(value) else "replace").decode(
                "utf-8", "replace"
            )
        return value
    if isinstance(value, dict):
        return {unicode_only(k): unicode_only(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [unicode_only(v) for v in value]
    return value


def _escapes_only(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)
