"""cnnlab: controlled, reproducible experiments comparing image-classification architectures."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cnnlab")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+src"
