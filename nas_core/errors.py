"""Exceptions raised low in the library and reported at the top (the ``nas-study`` command)."""
from __future__ import annotations


class UsageError(Exception):
    """Bad input: reported as one line, exit code 2, before any compute. Lines after the first
    (how to get missing data, say) are printed below it, indented."""


__all__ = ["UsageError"]
