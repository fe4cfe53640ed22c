"""The installed cnnlab's version, for manifests: a base module, so that recording it imports nothing above."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cnnlab")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+src"
