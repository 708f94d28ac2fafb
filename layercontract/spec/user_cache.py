"""layercontract's directory in the user's cache directory, and the parsed project files kept
there by content.

Every process of a run (the CLI, the backend's pytest process, each fault run) reads the same
project files: spec/clauses.toml, the findings and an expectations file (TOML), every suite file
(parsed for its clause citations). Parsing them was 0.08 s of CPU in each process. `parsed` keeps
a parse's result by the sha256 of the text, the parser's own source and this Python's version:
a hit costs a hash and a marshal load, and a file edited since is parsed again. What cannot be
cached (a value marshal cannot hold, a cache that cannot be written: a full disk, a read-only
home) is parsed each time, never an error."""

from __future__ import annotations

import functools
import hashlib
import inspect
import marshal
import os
import pathlib
import sys
import tempfile
import tomllib
from collections.abc import Callable
from typing import Any


def directory() -> pathlib.Path:
    """layercontract's directory in the user's cache directory (platformdirs' where it is installed)."""
    try:
        import platformdirs
    except ImportError:  # platformdirs comes with the dev tools (tox), not with the wheel
        return pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "layercontract"
    return pathlib.Path(platformdirs.user_cache_dir("layercontract", appauthor=False))


def toml(text: str) -> dict[str, Any]:
    """tomllib.loads(text), kept (a TOML error is raised as tomllib raises it)."""
    return parsed(text, tomllib.loads)


def parsed(text: str, parse: Callable[[str], Any]) -> Any:
    """parse(text), read back from the cache when this parser has parsed this text before."""
    key = hashlib.sha256(f"{sys.version}\0{_parser_id(parse)}\0".encode() + text.encode("utf-8", "surrogatepass"))
    path = directory() / "parsed" / key.hexdigest()
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        pass
    value = parse(text)
    try:
        data = marshal.dumps(value)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)  # whole or absent for a process reading it at the same time
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, ValueError):
        pass
    return value


@functools.cache
def _parser_id(parse: Callable[[str], Any]) -> str:
    """The parser's name and the sha256 of its module's source: a parser edited since (in a
    checkout) never reads what its earlier version cached."""
    try:
        source = pathlib.Path(inspect.getsourcefile(parse) or "").read_bytes()
    except (OSError, TypeError):
        source = b""
    return f"{parse.__module__}.{parse.__qualname__}:{hashlib.sha256(source).hexdigest()}"
