"""An expectations entry's `match`, compiled and matched with a bound (the `regex` module's
timeout): a backtracking pattern such as '^(a|a)+$' can neither hang the run inside the plugin,
where the watchdog cannot interrupt it, nor pass `doctor`. One validator (`check`) for run and
doctor: a pattern that is not a string, empty, longer than MAX_PATTERN_CHARS, invalid, or that
does not decide within MATCH_TIMEOUT_S on a probe text is refused before anything runs.
"""

from __future__ import annotations

import functools

MAX_PATTERN_CHARS = 1000
MAX_TEXT_CHARS = 10_000  # a failure's first line is at most a few hundred characters
MATCH_TIMEOUT_S = 0.5
# texts on which a catastrophically backtracking pattern runs for ever (each fails at the end)
PROBES = ("a" * 64 + "!", "a " * 64 + "!", " " * 64 + "!", "0" * 64 + "x", "aA0_-.,:()[]' " * 16 + "\x00")


class RegexError(ValueError):
    """A `match` pattern refused (one line)."""


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str):
    import regex  # only where an entry has a `match` (a fifth of a small run's plugin imports)

    return regex.compile(pattern, flags=regex.VERSION0)  # VERSION0: the syntax of Python's re


def check(pattern) -> None:
    """RegexError unless `pattern` is a bounded, valid pattern that decides quickly."""
    if not isinstance(pattern, str):
        raise RegexError(f"must be a string, got {type(pattern).__name__}")
    if not pattern.strip():
        raise RegexError("is not a regular expression: empty")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexError(f"is {len(pattern)} characters long (at most {MAX_PATTERN_CHARS})")
    import regex

    try:
        _compiled(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as e:
        raise RegexError(f"is not a regular expression: {e}") from None
    for probe in PROBES:
        try:
            _compiled(pattern).search(probe, timeout=MATCH_TIMEOUT_S)
        except TimeoutError:
            raise RegexError(
                f"backtracks without bound (no answer within {MATCH_TIMEOUT_S:g} s on {probe[:12]!r}...): simplify it"
            ) from None


def search(pattern: str, text: str) -> bool | None:
    """True/False: whether `pattern` matches somewhere in `text`; None when it could not decide
    within MATCH_TIMEOUT_S (the caller treats that as no match and says so)."""
    try:
        return _compiled(pattern).search(text[:MAX_TEXT_CHARS], timeout=MATCH_TIMEOUT_S) is not None
    except TimeoutError:
        return None
