"""spec/user_cache.py: a parse is kept by content and parser, read back instead of parsed again,
and a cache that cannot hold a value or cannot be written is no cache, never an error."""

import os
import tomllib

import pytest

from layercontract.spec import user_cache
from layercontract.spec.harness import clause_citations

CALLS = []


def counting_parse(text):
    CALLS.append(text)
    return {"text": text, "items": [1, 2.5, None, ("a", "b")]}


def another_parse(text):
    return {"parsed by": "another"}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    CALLS.clear()
    return tmp_path / "layercontract" / "parsed"


def test_a_parse_is_read_back_for_the_same_text_and_parser(cache):
    first = user_cache.parsed("x = 1", counting_parse)
    assert user_cache.parsed("x = 1", counting_parse) == first
    assert CALLS == ["x = 1"] and len(list(cache.iterdir())) == 1


def test_another_text_or_another_parser_is_parsed_again(cache):
    user_cache.parsed("x = 1", counting_parse)
    assert user_cache.parsed("x = 2", counting_parse)["text"] == "x = 2"
    assert user_cache.parsed("x = 1", another_parse) == {"parsed by": "another"}
    assert CALLS == ["x = 1", "x = 2"] and len(list(cache.iterdir())) == 3


def test_a_damaged_entry_is_parsed_again_and_replaced(cache):
    user_cache.parsed("x = 1", counting_parse)
    (entry,) = cache.iterdir()
    entry.write_bytes(b"\xff\x00 not marshal")
    assert user_cache.parsed("x = 1", counting_parse)["text"] == "x = 1"
    assert user_cache.parsed("x = 1", counting_parse)["text"] == "x = 1"
    assert len(CALLS) == 2


def test_a_cache_that_cannot_be_written_or_a_value_it_cannot_hold_is_no_cache(cache):
    cache.parent.mkdir(parents=True)
    cache.write_text("a file where the directory would be")
    assert user_cache.parsed("x = 1", counting_parse)["text"] == "x = 1"
    assert user_cache.parsed("x = 1", counting_parse)["text"] == "x = 1"
    assert len(CALLS) == 2
    cache.unlink()
    assert user_cache.parsed("x", lambda text: object()) is not user_cache.parsed("x", lambda text: object())
    assert not cache.exists() or not list(cache.iterdir())


def test_toml_errors_are_tomllibs_and_nothing_is_kept(cache):
    with pytest.raises(tomllib.TOMLDecodeError):
        user_cache.toml("deviation = [\n")
    assert not cache.exists() or not list(cache.iterdir())
    assert user_cache.toml('a = "b"') == user_cache.toml('a = "b"') == {"a": "b"}


def test_citations_come_from_the_cache_as_parsed(cache, tmp_path):
    suites = tmp_path / "suites"
    suites.mkdir()
    source = '@clause("BUILD.ONCE")\ndef test_a():\n    pass\n\nclass TestB:\n    @clause("CALL.X", "CALL.Y")\n    def test_b(self):\n        pass\n'
    (suites / "test_x.py").write_text(source)
    expected = {"BUILD.ONCE": ["test_x.py::test_a"], "CALL.X": ["test_x.py::test_b"], "CALL.Y": ["test_x.py::test_b"]}
    assert clause_citations.cited_clauses(suites) == expected
    assert len(list(cache.iterdir())) == 1
    (suites / "test_x.py").write_text(source.replace("test_a", "test_c"))
    os.utime(suites / "test_x.py", ns=(1, 1))  # another version of the file, for the in-process cache too
    assert clause_citations.cited_clauses(suites)["BUILD.ONCE"] == ["test_x.py::test_c"]
    (suites / "test_x.py").write_text("def broken(:\n")
    with pytest.raises(SyntaxError, match="test_x.py"):
        clause_citations.cited_clauses(suites)
