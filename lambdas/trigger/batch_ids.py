"""Batch ids: the one rule every batch id follows, and how the trigger names a batch.

A batch id becomes an S3 path segment, a Hive partition value (``batch_id=<id>``) and part of
an execution name, so a valid one matches ``^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$``: no ``:``,
``/``, ``=``, space, ``%`` or ``+``. The Glue job validates the same rule on its side (it cannot
import this module; a test cross-checks the two copies).

:func:`batch_id_for` turns any natural name (a folder, a file name, a date, a file name plus
arrival time) into a valid id: a valid name is kept unchanged; otherwise every disallowed
character becomes ``-``, leading ``-``/``.``/``_`` are dropped, the text is cut to fit, and ``-``
plus 8 hex characters of SHA-256 of the original name are appended, so two names that sanitise
alike (``day 1``, ``day+1``) never share an id.

Standard library only: the trigger Lambda deploys this folder as is.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

BATCH_ID_MAX = 128
BATCH_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_DISALLOWED = re.compile(r"[^A-Za-z0-9._-]")
_HASH_CHARS = 8

# trigger.batch_id_mode: how a file uploaded directly under the landing prefix is named.
# A folder under the prefix is one batch named after the folder in every mode.
BATCH_ID_MODES = ("folder", "file", "arrival_date", "file_arrival_date", "file_arrival_time")
DEFAULT_BATCH_ID_MODE = "file_arrival_date"


def is_valid_batch_id(batch_id: str) -> bool:
    """Whether ``batch_id`` is safe as an S3 path segment, partition value and name part."""
    # fullmatch: a pattern ending in ``$`` would admit a trailing newline.
    return BATCH_ID_PATTERN.fullmatch(batch_id) is not None


def batch_id_for(name: str) -> str:
    """The valid batch id for the natural name ``name`` (unchanged when already valid)."""
    if is_valid_batch_id(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_CHARS]
    readable = _DISALLOWED.sub("-", name).lstrip("-._")
    room = BATCH_ID_MAX - _HASH_CHARS - 1
    readable = readable[:room].rstrip("-") or "batch"
    return f"{readable}-{digest}"


def arrival_date(arrived: datetime) -> str:
    """``2026-11-28``: the UTC date of the upload event."""
    return arrived.strftime("%Y-%m-%d")


def arrival_time(arrived: datetime) -> str:
    """``20261128T191305Z``: the UTC time of the upload event, to the second, without ``:``."""
    return arrived.strftime("%Y%m%dT%H%M%SZ")


def file_batch_name(file_name: str, mode: str, arrived: datetime) -> str | None:
    """The natural batch name of a file uploaded directly under the landing prefix.

    ``None`` in ``folder`` mode: only folders are batches there. ``arrived`` is the event's
    time in UTC.
    """
    if mode == "folder":
        return None
    if mode == "file":
        return file_name
    if mode == "arrival_date":
        return arrival_date(arrived)
    if mode == "file_arrival_date":
        return f"{file_name}-{arrival_date(arrived)}"
    if mode == "file_arrival_time":
        return f"{file_name}-{arrival_time(arrived)}"
    raise ValueError(f"unknown batch id mode {mode!r}; expected one of {', '.join(BATCH_ID_MODES)}")
