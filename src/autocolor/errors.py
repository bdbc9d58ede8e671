"""The one-line form of an error, for every place that reports one (a batch's error lines, the
API's JSON errors, the app's messages)."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, or its type's name when the message is empty."""
    text = str(error)
    return text.splitlines()[0] if text.strip() else type(error).__name__
