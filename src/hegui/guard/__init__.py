"""Content checks. Pure: no I/O, no HTTP, no database.

One `Check` protocol, many checks, one `Pipeline` that runs the checks of a stage and merges their
findings into a `Verdict`; `StreamInspector` wraps the pipeline for output streams. This room must never
import a web framework or a database driver, and must never let text through when a check fails.
"""

from __future__ import annotations

from hegui.guard.pipeline import Pipeline
from hegui.guard.stream import StreamInspector, StreamStep
from hegui.guard.types import Action, Check, Context, Finding, SessionMemory, Stage, Verdict

__all__ = [
    "Action",
    "Check",
    "Context",
    "Finding",
    "Pipeline",
    "SessionMemory",
    "Stage",
    "StreamInspector",
    "StreamStep",
    "Verdict",
]
