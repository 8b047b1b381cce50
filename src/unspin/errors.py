"""Errors that name the input and the reason."""

from __future__ import annotations


class UnspinError(Exception):
    """Base class of the errors unspin reports to users."""


class InputError(UnspinError):
    """One input (file, record, stdin) cannot be analysed; the rest of a batch goes on."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    def __reduce__(self) -> tuple:  # survives pickling, e.g. back from a worker process
        return (type(self), (self.source, self.reason))
