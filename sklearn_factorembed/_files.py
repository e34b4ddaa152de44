"""Writing files atomically, for model files, exported vectors and downloads.

A file is written to a temporary file in the target folder, flushed to disk,
then renamed over the target, so a crash mid-write leaves any earlier file
intact. The temporary file's name carries its writer's host and process id: a
writer killed mid-write (SIGKILL, out of memory) cannot remove it, so the next
write into the same folder removes those whose writer has died.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import socket
import stat
from collections.abc import Callable
from pathlib import Path

# ".<host>-<pid>-<random>.tmp.<name of the target>": the target's name last, so
# that writers which pick a compression from the suffix still do.
_TEMPORARY = re.compile(
    r"\.(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]{1,10})-[0-9a-f]{12}\.tmp\."
)

_KINDS_OF_FILE = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_file_kind(mode: int) -> str | None:
    """What a file of ``st_mode`` ``mode`` is when it is not a regular file
    (``"a folder"``, ``"a FIFO (named pipe)"``, ...); None for a regular file.

    Opening a FIFO blocks until something writes to it, a device reads
    forever, and renaming over one replaces the node: such paths are refused
    before anything opens or replaces them.

    Examples
    --------
    >>> import os
    >>> special_file_kind(os.stat(".").st_mode)
    'a folder'
    """
    if stat.S_ISREG(mode):
        return None
    return next(
        (name for is_kind, name in _KINDS_OF_FILE if is_kind(mode)), "a special file"
    )


def _host() -> str:
    # Process ids are per host: a folder shared over the network may hold the
    # temporary files of live writers elsewhere, which must not be removed.
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _check_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: the folder {str(folder)!r} does not exist"
        )


def _check_target(path: Path) -> None:
    """Refuse a target that exists and is not a regular file: the rename would
    replace a FIFO or a device node (``/dev/null``, as root) with a regular
    file, and fail over a folder only once the work is done."""
    try:
        mode = path.stat().st_mode  # through symbolic links: one to /dev/null too
    except FileNotFoundError:
        return
    kind = special_file_kind(mode)
    if kind is None:
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(
            errno.EISDIR, f"cannot write {str(path)!r}: it is a folder", str(path)
        )
    raise OSError(
        f"cannot write {str(path)!r}: it is {kind}, not a regular file; only a "
        "regular file is replaced"
    )


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (OverflowError, ValueError):  # no process can have that id
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def remove_stale_temporary_files(folder: Path) -> list[Path]:
    """Remove the temporary files that writers on this host left in ``folder``
    when they died mid-write; return them.

    Only regular files named as :func:`replace_atomically` names them, whose
    writer (host and process id in the name) is no longer running. POSIX only:
    elsewhere there is no harmless way to ask whether a process is running.
    """
    if os.name != "posix":
        return []
    host, removed = _host(), []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or match["host"] != host or _is_running(int(match["pid"])):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:  # removed meanwhile, or not ours to remove
            continue
    return removed


def replace_atomically(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Have ``write`` create a file, then move it to ``path`` in one step.

    ``write`` receives the name of a temporary file in the folder of ``path``
    (same suffixes, so writers that pick a compression from the name still
    do); once it returns, the file is flushed to disk and renamed over
    ``path``. If anything fails, the temporary file is removed and an existing
    file at ``path`` is left as it was; if the process is killed, the next
    call writing into the same folder removes it.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist.
    IsADirectoryError, OSError
        If ``path`` exists and is not a regular file (a folder, FIFO, device or
        socket, or a symbolic link to one): it is refused before anything is
        written.

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
    _check_target(path)
    remove_stale_temporary_files(path.parent)
    temporary = path.parent / (
        f".{_host()}-{os.getpid()}-{secrets.token_hex(6)}.tmp.{path.name}"
    )
    try:
        write(str(temporary))
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        _check_target(path)  # in case one appeared while writing
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(path.parent)


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
