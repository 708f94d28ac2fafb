"""Input files of bounded size: records, matrix.json, kill matrices and expectations files are
read only when they are regular files no larger than a limit. A FIFO (which would block the
reader forever), a device (/dev/zero: endless), a directory or a file past the limit is one
InputError naming it, before anything is parsed or written.
"""

from __future__ import annotations

import os
import pathlib
import stat

MiB = 1024 * 1024


class InputError(Exception):
    """An input that is not a regular file of bounded size (one line naming it)."""


def read_bytes(path, limit: int, what: str = "file") -> bytes:
    """The bytes of `path` if it is a regular file of at most `limit` bytes; else InputError.
    FileNotFoundError (an OSError) is left to the caller, which knows how to say "missing"."""
    path = pathlib.Path(path)
    # O_NONBLOCK: opening a FIFO for reading must not wait for a writer
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = (
                "a directory"
                if stat.S_ISDIR(st.st_mode)
                else "a FIFO"
                if stat.S_ISFIFO(st.st_mode)
                else "a device"
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket"
                if stat.S_ISSOCK(st.st_mode)
                else "not a regular file"
            )
            raise InputError(f"{path}: {kind}, not a regular file: give a {what} file")
        if st.st_size > limit:
            raise InputError(
                f"{path}: {_size(st.st_size)}, larger than any {what} (at most {_size(limit)}): not a {what} file"
            )
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 * MiB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise InputError(f"{path}: larger than any {what} (at most {_size(limit)}): not a {what} file")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path, limit: int, what: str = "file") -> str:
    """read_bytes decoded as UTF-8 (UnicodeDecodeError left to the caller)."""
    return read_bytes(path, limit, what).decode("utf-8")


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"
