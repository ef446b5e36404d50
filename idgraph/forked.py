"""Work in forked processes over state they inherit rather than receive pickled.

The initial load's workers (validating rows, resolving partitions, writing CSV files) read
the records, rules or graph the parent holds: set them with ``sharing`` before the pool
forks, read them with ``shared`` in the worker function. Only the workers' results cross
a pipe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_STATE: dict[str, Any] = {}


@contextlib.contextmanager
def sharing(**values: Any) -> Iterator[None]:
    """Make `values` readable by `shared` here and in processes forked meanwhile."""
    _STATE.update(values)
    try:
        yield
    finally:
        for name in values:
            _STATE.pop(name, None)


def shared(name: str) -> Any:
    """A value set by the enclosing `sharing`."""
    return _STATE[name]


def fork_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` forked processes (they inherit what `sharing` set)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
