"""Writing files atomically, for model files, exported vectors and downloads.

A file is written to a temporary file in the target folder, flushed to disk,
then renamed over the target, so a crash mid-write leaves any earlier file
intact; a folder of files (a model2vec export) likewise, as a temporary folder.
The temporary file's or folder's name carries its writer's host and process id:
a writer killed mid-write (SIGKILL, out of memory) cannot remove it, so the
next write into the same folder removes those whose writer has died.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
from collections.abc import Callable
from pathlib import Path

# ".<host>-<pid>-<random>.tmp.<name of the target>": the target's name last, so
# that writers which pick a compression from the suffix still do. A temporary
# folder is marked ".tmpdir." instead: only a folder named so is ever removed.
_TEMPORARY = re.compile(
    r"\.(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]{1,10})-[0-9a-f]{12}"
    r"\.(?P<kind>tmp|tmpdir)\."
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


def _temporary_name(name: str, kind: str = "tmp") -> str:
    return f".{_host()}-{os.getpid()}-{secrets.token_hex(6)}.{kind}.{name}"


def remove_stale_temporary_files(folder: Path) -> list[Path]:
    """Remove the temporary files and folders that writers on this host left
    in ``folder`` when they died mid-write; return them.

    Only regular files named as :func:`replace_atomically` names them and
    folders named as :func:`replace_folder_atomically` names them, whose writer
    (host and process id in the name) is no longer running. POSIX only:
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
            if match["kind"] == "tmp" and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
            elif match["kind"] == "tmpdir" and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                continue
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
    temporary = path.parent / _temporary_name(path.name)
    try:
        write(str(temporary))
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        _check_target(path)  # in case one appeared while writing
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(path.parent)


def check_folder_target(path: str | os.PathLike, names: frozenset[str]) -> None:
    """Refuse a folder to write that exists and is not a folder holding only
    ``names`` (what an earlier write put there), which replacing it would
    destroy: NotADirectoryError or OSError naming it."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        kind = special_file_kind(mode) or "a regular file"
        raise NotADirectoryError(
            f"cannot write the folder {str(path)!r}: it is {kind}, not a folder"
        )
    others = sorted(set(os.listdir(path)) - names)
    if others:
        raise OSError(
            f"cannot write the folder {str(path)!r}: it holds {others[0]!r}"
            + (f" and {len(others) - 1} more" if len(others) > 1 else "")
            + f"; only a folder holding nothing but {', '.join(sorted(names))} "
            "is replaced"
        )


def replace_folder_atomically(
    path: str | os.PathLike, write: Callable[[Path], None], names: frozenset[str]
) -> None:
    """Have ``write`` fill a new folder with the files ``names``, then move it
    to ``path`` in one step.

    ``write`` receives an empty temporary folder beside ``path``; once it
    returns, its files are flushed to disk and the folder is renamed to
    ``path``. An existing ``path`` is replaced only if it is a folder holding
    nothing but ``names`` (an earlier write): it is renamed aside first, and
    removed once the new folder is in place. If anything fails, the temporary
    folder is removed and ``path`` is left as it was; if the process is
    killed, the next write into the same folder removes the temporary folder
    (killed between the two renames, it leaves the earlier folder beside
    ``path``, named ``.<...>.old.<name>``).

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist.
    NotADirectoryError
        If ``path`` exists and is not a folder.
    OSError
        If ``path`` is a folder holding anything but ``names``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "vectors"
    >>> replace_folder_atomically(
    ...     target, lambda folder: (folder / "a.txt").write_text("hi"), {"a.txt"}
    ... )
    >>> sorted(path.name for path in target.iterdir())
    ['a.txt']
    """
    path = Path(path)
    names = frozenset(names)
    _check_folder(path)
    check_folder_target(path, names)
    remove_stale_temporary_files(path.parent)
    temporary = path.parent / _temporary_name(path.name, "tmpdir")
    try:
        temporary.mkdir()
        write(temporary)
        for name in os.listdir(temporary):
            with open(temporary / name, "rb+") as stream:
                os.fsync(stream.fileno())
        _fsync_folder(temporary)
        check_folder_target(path, names)  # in case it changed while writing
        earlier = None
        if os.path.lexists(path):
            earlier = path.parent / _temporary_name(path.name, "old")
            os.rename(path, earlier)
        try:
            os.rename(temporary, path)
        except BaseException:
            if earlier is not None:
                os.rename(earlier, path)
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    _fsync_folder(path.parent)
    if earlier is not None:  # a symbolic link to a folder is replaced, as a file's
        if earlier.is_symlink():
            earlier.unlink()
        else:
            shutil.rmtree(earlier, ignore_errors=True)


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
