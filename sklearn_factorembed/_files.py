"""Writing files atomically, for model files, exported vectors and downloads.

A file is written to a temporary file in the target folder, flushed to disk,
then renamed over the target, so a crash mid-write leaves any earlier file
intact.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def _check_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: the folder {str(folder)!r} does not exist"
        )


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Have ``write`` create a file, then move it to ``path`` in one step.

    ``write`` receives the name of a temporary file in the folder of ``path``
    (same suffixes, so writers that pick a compression from the name still
    do); once it returns, the file is flushed to disk and renamed over
    ``path``. If anything fails, the temporary file is removed and an existing
    file at ``path`` is left as it was.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> replace_atomically(target, lambda name: pathlib.Path(name).write_text("hi"))
    >>> target.read_text()
    'hi'
    """
    path = Path(path)
    _check_folder(path)
    temporary = path.parent / f".{secrets.token_hex(6)}.tmp.{path.name}"
    try:
        write(str(temporary))
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(path.parent)
