"""shorts-desktop: keep the raw material of YouTube Shorts in your own S3 bucket."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shorts-desktop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
