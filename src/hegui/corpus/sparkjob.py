"""The one way hegui runs a job on Apache Spark: `hegui corpus audit --engine spark` and `hegui works index
--engine spark` both go through `run` (issue 15 asked the works index to share the corpus audit's Spark
path rather than keep a second one).

`run` starts a session (local mode ``local[N]`` unless a master URL is given; the UI off; the executors'
Python is this interpreter unless ``PYSPARK_PYTHON`` says otherwise), hands its SparkContext to the job,
always stops it, and turns an executor's failure into one `RequestError` line: Py4J wraps a Python error
raised on an executor in a Java stack trace, so the line of the named exception (a corpus error the local
engine would also raise) is looked for in it, else its first line is kept. A job never returns a partial
result. `lines` reads a text file as (line, index) pairs with Hadoop's line splitting (``\\n``, ``\\r``,
``\\r\\n``), what both jobs read JSONL with.

pyspark is optional (``hegui[spark]``, Java 17+): without it the error says how to install it. On a cluster
every executor needs hegui installed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hegui.errors import ConfigError, RequestError

T = TypeVar("T")

#: The driver's memory: it collects the jobs' results (the works index's fingerprints, the audit's rows).
DRIVER_MEMORY = "2g"


def run(
    app: str,
    job: Callable[[Any], T],
    *,
    workers: int = 0,
    master: str | None = None,
    failure: str = "the Spark job failed",
    named: str | None = None,
) -> T:
    """``job(spark_context)`` on a new session, stopped afterwards. ``workers``: threads of the local
    master (0: one per core); ``failure`` begins the error of a failed job; ``named``: the exception
    class whose message an executor's failure is reported with (see `executor_error`)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "the Spark engine needs pyspark (and Java 17+): pip install 'hegui[spark]'"
        ) from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark: Any = (
        SparkSession.builder.master(master or f"local[{workers or os.cpu_count() or 1}]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", DRIVER_MEMORY)
        .getOrCreate()
    )
    try:
        return job(spark.sparkContext)
    except (ConfigError, RequestError):
        raise
    except Exception as exc:  # Py4J wraps an executor's error: name it and stop, never a partial result
        raise executor_error(exc, failure, named) from exc
    finally:
        spark.stop()


def executor_error(exc: BaseException, failure: str, named: str | None = None) -> RequestError:
    """One line for a failed job: the message of the ``named`` exception if the (Py4J-wrapped) error
    text holds one, as the local engine would have said it; else ``failure`` and the first line."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    if named is not None:
        marker = f"{named}: "
        for line in lines:
            if marker in line:
                return RequestError(line.split(marker, 1)[1].strip())
    return RequestError(f"{failure}: {lines[0][:300]}")


def lines(sc: Any, path: Path) -> Any:
    """The RDD of (line, index) pairs of a text file, in the file's order (index from 0)."""
    return sc.textFile(str(path.resolve())).zipWithIndex()
