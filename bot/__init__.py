"""Cocreate core: platform-neutral types, UI vocabulary, flow engine and ports."""

__version__ = "0.1.0"
