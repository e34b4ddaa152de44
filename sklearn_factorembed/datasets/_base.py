"""Where the data lives, and a checksum-verified, atomic download of it.

A loader names the files it reads relative to the data home (the layout of the
shared data folder, ``movie_review_polarity/rt-polarity.pos`` and so on) and calls
:func:`_fetch_files`, which returns the data home once every file is there. Files
already present are used as they are; a download is verified against ``_SHA256``
before anything is written, and each file appears through ``os.replace`` of a
temporary file in its own folder, so a reader never sees a partial file.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import tarfile
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.datasets import get_data_home as _get_sklearn_data_home

from .._files import replace_atomically

DATA_HOME_ENV = "FACTOREMBED_DATA"
DOWNLOAD_TIMEOUT = 60.0  # seconds without data before a download gives up

# SHA-256 of every file a loader reads, keyed by its path under the data home. The
# values are those of the shared data README, so a downloaded file is byte for byte
# the file the tests and benchmarks were run on.
_SHA256: dict[str, str] = {
    "movie_review_polarity/rt-polarity.pos": (
        "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0"
    ),
    "movie_review_polarity/rt-polarity.neg": (
        "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca"
    ),
    "ag_news/train.tsv": (
        "7a0811e0006080bf4de17752c5466450ff3db778be71bc5bcf3c4e99b5f0803d"
    ),
    "ag_news/test.tsv": (
        "e4217edd939f618f24a42b0988c56ec3cddf656d8dc279b9afa443dd1ab6a1c1"
    ),
}


@dataclass(frozen=True)
class RemoteArchive:
    """A tar archive on the web and where its members go under the data home.

    Parameters
    ----------
    url : str
        Where the archive is served.
    members : mapping of str to str
        Path of a file inside the archive -> its path under the data home, which
        must be a key of ``_SHA256``.
    """

    url: str
    members: Mapping[str, str]


def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder the dataset loaders read from and download to.

    The folder is, in order of precedence: ``data_home`` when given, else the
    environment variable ``FACTOREMBED_DATA`` when set and not empty, else the
    subfolder ``factorembed`` of scikit-learn's data home
    (:func:`sklearn.datasets.get_data_home`, ``~/scikit_learn_data`` unless
    ``SCIKIT_LEARN_DATA`` says otherwise). A folder laid out like the shared data
    folder (``movie_review_polarity/``, ``ag_news/``) is used as it is.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use; ``~`` is expanded.

    Returns
    -------
    pathlib.Path
        The absolute path of the folder, which need not exist yet.

    Examples
    --------
    >>> from sklearn_factorembed.datasets import get_data_home
    >>> get_data_home("~/corpora").name
    'corpora'
    >>> get_data_home("~/corpora").is_absolute()
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or None
    if data_home is None:
        data_home = Path(_get_sklearn_data_home()) / "factorembed"
    # abspath also folds "..", so "../shared/data" reads well in error messages.
    return Path(os.path.abspath(Path(data_home).expanduser()))


def _urlopen(url: str, timeout: float):
    """Open ``url``; the one place that touches the network, replaced in tests."""
    return urllib.request.urlopen(url, timeout=timeout)


def _fetch_files(
    paths: Sequence[str],
    *,
    data_home: str | os.PathLike[str] | None,
    download_if_missing: bool,
    source: RemoteArchive | None,
    how_to_get: str,
) -> Path:
    """Return the data home once every one of ``paths`` is a file in it.

    Missing files are downloaded from ``source`` when ``download_if_missing`` and
    a source exist; otherwise, or when the download fails, an ``OSError`` names
    the missing files and ends with ``how_to_get``.
    """
    home = get_data_home(data_home)
    missing = [path for path in paths if not (home / path).is_file()]
    if not missing:
        return home
    advice = _missing_files_message(home, missing, how_to_get, data_home)
    if not download_if_missing or source is None:
        raise OSError(advice)
    try:
        with _urlopen(source.url, timeout=DOWNLOAD_TIMEOUT) as response:
            payload = response.read()
    # URLError, HTTPError, socket errors and timeouts are OSErrors; http.client's
    # own (IncompleteRead, RemoteDisconnected) are HTTPExceptions.
    except (OSError, http.client.HTTPException) as exc:
        # One exception, not a chain: the message says what failed, where the
        # files were looked for and what to do, which a traceback through urllib
        # and socket would bury.
        raise OSError(f"Could not download {source.url} ({exc}). {advice}") from None
    try:
        _install_verified(payload, source, home, missing)
    except OSError as exc:  # a download cut short, or not the expected files
        raise OSError(f"{exc}. {advice}") from None
    return home


def _missing_files_message(
    home: Path,
    missing: Sequence[str],
    how_to_get: str,
    data_home: str | os.PathLike[str] | None,
) -> str:
    files = ", ".join(str(home / path) for path in missing)
    # Where the data home came from, since a variable set in one shell and not
    # in the process that runs (a notebook kernel, a job) is the usual surprise.
    if data_home is not None:
        origin = "given as data_home="
    elif os.environ.get(DATA_HOME_ENV):
        origin = f"set by {DATA_HOME_ENV}"
    else:
        origin = f"the default, as neither data_home= nor {DATA_HOME_ENV} is set"
    return (
        f"Missing data files: {files} (the data home {home} is {origin}). Put them "
        f"there, or point data_home= or the {DATA_HOME_ENV} environment variable "
        f"to a folder that holds them. {how_to_get}"
    )


def _install_verified(
    payload: bytes, source: RemoteArchive, home: Path, missing: Sequence[str]
) -> None:
    """Extract the ``missing`` files from the archive bytes, verify, then write.

    Every checksum is checked before the first write, so a bad archive leaves the
    data home as it was.
    """
    try:
        archive = tarfile.open(fileobj=io.BytesIO(payload), mode="r:*")
    except tarfile.TarError as exc:
        raise _unreadable_archive(source, exc) from None
    contents = {}
    with archive:
        for member_name, path in source.members.items():
            if path not in missing:
                continue
            try:
                member = archive.extractfile(member_name)
                content = None if member is None else member.read()
            except KeyError:
                content = None
            # A download cut short ends in EOFError or zlib.error while
            # decompressing, neither an OSError.
            except (tarfile.TarError, EOFError, zlib.error) as exc:
                raise _unreadable_archive(source, exc) from None
            if content is None:
                raise OSError(
                    f"The archive from {source.url} has no file {member_name!r}; "
                    f"expected {sorted(source.members)}"
                )
            actual = hashlib.sha256(content).hexdigest()
            if actual != _SHA256[path]:
                raise OSError(
                    f"SHA-256 of {member_name!r} downloaded from {source.url} is "
                    f"{actual}, expected {_SHA256[path]}: the download is corrupt "
                    f"or the file changed upstream; nothing was written to {home}"
                )
            contents[path] = content
    for path, content in contents.items():
        _write_atomic(home / path, content)


def _unreadable_archive(source: RemoteArchive, exc: Exception) -> OSError:
    return OSError(
        f"{source.url} did not serve a readable tar archive (cut short, or not "
        f"the archive): {exc}"
    )


def _write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` so that ``path`` is either absent or whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, lambda name: Path(name).write_bytes(content))
