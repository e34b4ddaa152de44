"""The version of the installed package, from its metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sklearn-factorembed")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
