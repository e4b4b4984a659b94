"""Error types: every failure a user can cause is one of these, with a one-line message."""

from __future__ import annotations


class MlpnetError(Exception):
    """Base class; the CLI prints ``str(err)`` on one line and exits non-zero."""

    exit_code = 1


class ConfigError(MlpnetError):
    """A config file or ``--set`` override is malformed, unknown or out of range."""

    exit_code = 2


class DataError(MlpnetError):
    """A dataset file is missing, truncated or inconsistent."""


class DownloadError(DataError):
    """A dataset could not be fetched or failed its checksum."""


class CheckpointError(MlpnetError):
    """A checkpoint is unreadable, unsafe, or does not match its recorded architecture."""


class ImageError(MlpnetError):
    """An input image cannot be read or holds no ink."""


class TrainingError(MlpnetError):
    """Training cannot go on, e.g. the loss became non-finite."""


def one_line(err: object) -> str:
    """An exception's (or any object's) message squeezed onto one line, for error messages."""
    return " ".join(str(err).split()) or type(err).__name__


def printable(text: str) -> str:
    """``text`` with every character that would break or garble a terminal line escaped as ``repr`` does.

    Line breaks (``\\n``, ``\\r``, ``\\x0b``, ``\\x85``, ``\\u2028``...), tabs, backspaces, escape
    sequences and lone surrogates become ``\\n``, ``\\x08``, ``\\x1b``, ``\\udc85``; the rest is kept,
    so a file or key a user typed can still be recognised in the message.
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
