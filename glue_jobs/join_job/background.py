"""Work that runs in a thread of its own while the job goes on: the batch's independent count
and the reference checks run beside the input pass, so their Spark jobs fill cores the pass
leaves idle (one task per file, the last wave) and their latency (scheduling, planning, a cold
JVM) is not added to the run's.

Spark schedules jobs from several threads of one session. Each background job has its own job
group, so :meth:`Background.cancel` can stop it, and its own scheduler pool, so under the FAIR
scheduler (local runs) it shares the cores with the pass instead of queueing behind it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from pyspark.sql import SparkSession

T = TypeVar("T")


class Background(Generic[T]):
    """A value found already (:meth:`ready`) or being found in a thread (:meth:`start`)."""

    def __init__(self) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._spark: SparkSession | None = None
        self._group = ""
        self.seconds = 0.0

    @classmethod
    def ready(cls, value: T, started: float) -> Background[T]:
        """``value``, found already; ``started`` is when finding it began (time.monotonic)."""
        done: Background[T] = cls()
        done._value = value
        done.seconds = time.monotonic() - started
        return done

    @classmethod
    def start(cls, spark: SparkSession, name: str, work: Callable[[], T]) -> Background[T]:
        """Run ``work()`` in a new thread; its Spark jobs carry the job group and pool ``name``."""
        running: Background[T] = cls()
        running._spark = spark
        running._group = f"{name}-{uuid.uuid4().hex}"
        started = time.monotonic()

        def run() -> None:
            context = spark.sparkContext
            context.setJobGroup(running._group, name, interruptOnCancel=True)
            context.setLocalProperty("spark.scheduler.pool", name)
            try:
                running._value = work()
            except BaseException as error:  # handed to the thread that asks for the result
                running._error = error
            finally:
                running.seconds = time.monotonic() - started

        running._thread = threading.Thread(target=run, name=running._group, daemon=True)
        running._thread.start()
        return running

    @property
    def finished(self) -> bool:
        """Whether the value (or the error) is there without waiting."""
        return self._thread is None or not self._thread.is_alive()

    def result(self) -> T:
        """The value, waiting for it if need be; the work's own error if it failed."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value

    def cancel(self) -> None:
        """Stop work still running (the run failed elsewhere) and wait for its thread."""
        if self._thread is None:
            return
        assert self._spark is not None
        # Repeated: a job the thread submits after a cancel would run to its end.
        while self._thread.is_alive():
            self._spark.sparkContext.cancelJobGroup(self._group)
            self._thread.join(timeout=0.5)
