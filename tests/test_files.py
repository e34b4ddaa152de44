"""Atomic writes: what a killed writer leaves behind, and targets never replaced."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sklearn_factorembed import _files
from sklearn_factorembed._files import replace_atomically, replace_folder_atomically

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX processes")

# Writes a file of zeros forever, one MiB at a time, through replace_atomically.
# _files.py imports nothing from the package: loaded alone, it starts in
# milliseconds rather than with numpy, scikit-learn and gensim.
_ENDLESS_WRITER = textwrap.dedent(
    """
    import importlib.util, sys

    spec = importlib.util.spec_from_file_location("_files", sys.argv[1])
    files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(files)

    def write(name):
        with open(name, "wb") as stream:
            while True:
                stream.write(bytes(1 << 20))
                stream.flush()

    files.replace_atomically(sys.argv[2], write)
    """
)


def _kill_mid_write(target: Path, at_least: int = 32 << 20) -> tuple[Path, int]:
    """Start a writer of ``target`` in a subprocess, SIGKILL it once its
    temporary file holds ``at_least`` bytes, reap it; return the file it left
    and its process id."""
    writer = subprocess.Popen(
        [sys.executable, "-c", _ENDLESS_WRITER, _files.__file__, str(target)]
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            partial = [
                p
                for p in target.parent.iterdir()
                if p.name.endswith(".tmp." + target.name)
            ]
            if partial and partial[0].stat().st_size >= at_least:
                break
            assert writer.poll() is None, "the writer ended on its own"
            time.sleep(0.05)
        else:
            pytest.fail("the writer wrote nothing for a minute")
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()  # reaped: a zombie would still count as running
    assert writer.returncode == -signal.SIGKILL
    return partial[0], writer.pid


@posix_only
def test_save_killed_mid_write_is_cleaned_by_the_next_save(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"the earlier model")
    left, pid = _kill_mid_write(target)

    assert left.stat().st_size >= 32 << 20  # SIGKILL runs no cleanup
    assert f"-{pid}-" in left.name
    assert target.read_bytes() == b"the earlier model"
    replace_atomically(target, lambda name: Path(name).write_bytes(b"new"))
    assert sorted(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"new"


@posix_only
def test_next_write_of_another_file_in_the_folder_cleans_too(tmp_path):
    left, _ = _kill_mid_write(tmp_path / "codes.txt.gz", at_least=1 << 20)
    assert left.name.endswith(".tmp.codes.txt.gz")  # the suffix a writer reads
    replace_atomically(tmp_path / "other.txt", lambda name: Path(name).write_text("x"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.txt"]


@posix_only
def test_temporary_files_of_live_writers_and_other_hosts_are_kept(tmp_path):
    host = _files._host()
    alive = tmp_path / f".{host}-{os.getpid()}-{'a' * 12}.tmp.model.npz"
    elsewhere = (
        tmp_path
        / f".{'0' * 8 if host != '0' * 8 else '1' * 8}-999999-{'b' * 12}.tmp.m.npz"
    )
    folder = tmp_path / f".{host}-999999-{'c' * 12}.tmp.folder"
    unrelated = tmp_path / ".hidden.tmp.model.npz"
    for path in (alive, elsewhere, unrelated):
        path.write_bytes(b"partial")
    folder.mkdir()
    dead = tmp_path / f".{host}-{_dead_pid()}-{'d' * 12}.tmp.model.npz"
    dead.write_bytes(b"partial")

    assert _files.remove_stale_temporary_files(tmp_path) == [dead]
    assert sorted(tmp_path.iterdir()) == sorted([alive, elsewhere, folder, unrelated])


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_host_tag_is_that_of_this_host():
    import hashlib

    expected = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
    assert _files._host() == expected


# -- targets that are not regular files ------------------------------------------------


@pytest.fixture(params=["folder", "fifo", "socket", "link to a fifo", "device"])
def special_target(request, tmp_path) -> tuple[Path, str]:
    path = tmp_path / "target.npz"
    kind = request.param
    if kind == "folder":
        path.mkdir()
        return path, "a folder"
    if kind == "device":
        return Path(os.devnull), "a character device"
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs or sockets here")
    if kind == "socket":
        path = Path(tmp_path, "s")  # a socket's path must be short
        server = socket.socket(socket.AF_UNIX)
        request.addfinalizer(server.close)
        server.bind(str(path))
        return path, "a socket"
    os.mkfifo(tmp_path / "fifo")
    if kind == "fifo":
        return tmp_path / "fifo", "a FIFO"
    path.symlink_to(tmp_path / "fifo")
    return path, "a FIFO"


def test_target_that_is_not_a_regular_file_is_refused_before_writing(special_target):
    path, kind = special_target
    mode = path.stat().st_mode

    def write(name):
        # Were the target not refused, this keeps it (/dev/null included) intact.
        raise AssertionError(f"the writer ran, writing {name}")

    with pytest.raises(OSError, match=f"cannot write {str(path)!r}: it is {kind}"):
        replace_atomically(path, write)
    assert path.stat().st_mode == mode


def test_folder_target_is_an_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError):
        replace_atomically(tmp_path, lambda name: None)


def test_target_turned_special_while_writing_is_not_replaced(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    path = tmp_path / "target.txt"

    def write(name):
        Path(name).write_text("new")
        os.mkfifo(path)

    with pytest.raises(OSError, match="it is a FIFO"):
        replace_atomically(path, write)
    assert sorted(tmp_path.iterdir()) == [path]  # no temporary file left


def test_symbolic_link_to_a_regular_file_is_replaced_by_the_file(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "real.txt")
    replace_atomically(link, lambda name: Path(name).write_text("new"))
    assert link.read_text() == "new" and not link.is_symlink()
    assert (tmp_path / "real.txt").read_text() == "old"


# -- folders ---------------------------------------------------------------------------

NAMES = frozenset({"a.txt", "b.txt"})


def _write_both(text: str):
    def write(folder: Path) -> None:
        for name in NAMES:
            (folder / name).write_text(text)

    return write


def test_folder_is_written_then_replaced_leaving_nothing_beside(tmp_path):
    target = tmp_path / "vectors"
    replace_folder_atomically(target, _write_both("old"), NAMES)
    replace_folder_atomically(target, _write_both("new"), NAMES)
    assert sorted(tmp_path.iterdir()) == [target]
    assert {path.name: path.read_text() for path in target.iterdir()} == {
        "a.txt": "new",
        "b.txt": "new",
    }


def test_failed_folder_write_leaves_the_earlier_folder(tmp_path):
    target = tmp_path / "vectors"
    replace_folder_atomically(target, _write_both("old"), NAMES)

    def write(folder: Path) -> None:
        (folder / "a.txt").write_text("half")
        raise RuntimeError("killed halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        replace_folder_atomically(target, write, NAMES)
    assert sorted(tmp_path.iterdir()) == [target]
    assert (target / "a.txt").read_text() == "old"


def test_folder_holding_other_files_is_refused_before_writing(tmp_path):
    (tmp_path / "a.txt").write_text("mine")
    (tmp_path / "notes.txt").write_text("mine")

    def write(folder):
        raise AssertionError("the writer ran")

    with pytest.raises(OSError, match="it holds 'notes.txt'; only a folder"):
        replace_folder_atomically(tmp_path, write, NAMES)
    assert (tmp_path / "a.txt").read_text() == "mine"


def test_folder_target_that_is_a_file_or_special_is_refused(special_target):
    path, kind = special_target
    if kind == "a folder":  # empty: it holds nothing but the names, vacuously
        replace_folder_atomically(path, _write_both("x"), NAMES)
        assert {child.name for child in path.iterdir()} == NAMES
        return
    mode = path.stat().st_mode
    with pytest.raises(NotADirectoryError, match=f"it is {kind}"):
        replace_folder_atomically(path, _write_both("x"), NAMES)
    assert path.stat().st_mode == mode


def test_folder_target_that_is_a_regular_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="it is a regular file, not a"):
        replace_folder_atomically(tmp_path / "file", _write_both("y"), NAMES)
    assert (tmp_path / "file").read_text() == "x"


def test_symbolic_link_to_a_folder_is_replaced_by_the_folder(tmp_path):
    real = tmp_path / "real"
    replace_folder_atomically(real, _write_both("old"), NAMES)
    link = tmp_path / "link"
    link.symlink_to(real)
    replace_folder_atomically(link, _write_both("new"), NAMES)
    assert not link.is_symlink() and (link / "a.txt").read_text() == "new"
    assert (real / "a.txt").read_text() == "old"


@posix_only
def test_temporary_folder_of_a_dead_writer_is_removed_by_the_next_write(tmp_path):
    host = _files._host()
    dead = tmp_path / f".{host}-{_dead_pid()}-{'e' * 12}.tmpdir.vectors"
    alive = tmp_path / f".{host}-{os.getpid()}-{'f' * 12}.tmpdir.vectors"
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "a.txt").write_text("partial")
    replace_folder_atomically(tmp_path / "vectors", _write_both("x"), NAMES)
    assert sorted(tmp_path.iterdir()) == [alive, tmp_path / "vectors"]
