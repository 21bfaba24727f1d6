"""How a handled fault is logged: the database away or full is one WARNING line saying why
(the operator can act on it), anything else a traceback (a bug)."""

from __future__ import annotations

import logging
import sys

from bot.ports import StorageUnavailable


def logged(log: logging.Logger, message: str, *args: object) -> None:
    """Log the exception being handled: one line if it is `StorageUnavailable`, else with its
    traceback. Call it from an `except` block."""
    error = sys.exc_info()[1]
    if isinstance(error, StorageUnavailable):
        log.warning(message + ": %s", *args, error)
    else:
        log.exception(message, *args)
