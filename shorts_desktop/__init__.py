"""shorts-desktop: keep the raw material of YouTube Shorts in your own S3 bucket."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed package's metadata when first asked for:
    importlib.metadata costs every start ~20 ms, and only --version, About and a Short's
    manifest say it."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("shorts-desktop")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+source"
    globals()["__version__"] = found
    return found
