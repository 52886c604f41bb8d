"""rapidocr-onnxruntime (PP-OCRv4 detection and recognition as ONNX models inside its wheel) as hegui's
OCR engine, run in a long-lived child process (`hegui.media.rapidocr_worker`) fed over a pipe.

Why a child process: onnxruntime and OpenCV are native code. Run in the gateway's process, a reading that
crashes would take the worker with it and one that hangs could not be stopped. In a child, a reading is
bounded: past ``timeout`` the child is killed and the reading fails (`OcrFailed`, a `CheckFailed`: the
request is refused and the failure recorded, never passed unread); a child that died is started again at
the next reading. One child per process that reads (each gateway worker process has its own); readings
in one process take turns (a lock), each on one core, as measured (RESULTS.md, "ocr").

Nothing is downloaded: the models are files of the installed package (checked by
tests/media/test_rapidocr.py with the child in a namespace without a network).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from hegui.media.ocr import Box, OcrFailed, OcrLine, OcrResult, decode

#: What a missing engine tells the operator to do.
INSTALL = "pip install 'hegui[ocr]' (rapidocr-onnxruntime, Python < 3.13)"

WORKER = Path(__file__).with_name("rapidocr_worker.py")


def available() -> str | None:
    """Why rapidocr cannot run here, or None when it can (without importing it: that is the child's)."""
    if find_spec("rapidocr_onnxruntime") is None:
        if sys.version_info >= (3, 13):
            return (
                "rapidocr-onnxruntime is not installed, and the release hegui pins supports Python < 3.13 "
                'only: set [media] ocr_engine = "tesseract" here'
            )
        return f"rapidocr-onnxruntime is not installed ({INSTALL})"
    return None


class _Lost(Exception):
    """The child died, hung or broke the protocol; it is killed and started again next time."""


@dataclass
class _Child:
    proc: subprocess.Popen[bytes]
    stdin: int
    stdout: int
    closed: bool = False
    finalizer: weakref.finalize[Any, Any] | None = None

    def send(self, body: bytes, deadline: float) -> None:
        view = memoryview(len(body).to_bytes(4, "big") + body)
        while view:
            _wait(self.stdin, deadline, write=True)
            try:
                n = os.write(self.stdin, view)
            except BlockingIOError:
                continue
            except OSError:  # BrokenPipeError: the child is gone
                raise _Lost("the OCR worker closed its input") from None
            view = view[n:]

    def receive(self, deadline: float) -> dict[str, Any]:
        n = int.from_bytes(self._exactly(4, deadline), "big")
        if n > _MAX_ANSWER:
            raise _Lost("the OCR worker's answer is too large")
        try:
            answer = json.loads(self._exactly(n, deadline))
        except ValueError:
            raise _Lost("the OCR worker's answer is not JSON") from None
        if not isinstance(answer, dict):
            raise _Lost("the OCR worker's answer is not an object")
        return answer

    def _exactly(self, n: int, deadline: float) -> bytes:
        out = bytearray()
        while len(out) < n:
            _wait(self.stdout, deadline, write=False)
            try:
                chunk = os.read(self.stdout, n - len(out))
            except BlockingIOError:
                continue
            if not chunk:
                code = self.proc.poll()
                if code is None:
                    try:
                        code = self.proc.wait(timeout=1)
                    except subprocess.TimeoutExpired:
                        code = None
                raise _Lost(f"the OCR worker exited ({_exit(code)})")
            out += chunk
        return bytes(out)

    def kill(self) -> None:
        """Kill the child and close the pipes (once: a closed descriptor's number may be reused)."""
        if self.closed:
            return
        self.closed = True
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # a SIGKILL lands; do not hang if not
            self.proc.wait(timeout=5)
        for fd in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                os.close(fd)


#: The largest answer read from the child (the lines of one image; far above any real one).
_MAX_ANSWER = 16 * 1024 * 1024


def _wait(fd: int, deadline: float, *, write: bool) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    ready = select.select([], [fd], [], left) if write else select.select([fd], [], [], left)
    if not (ready[1] if write else ready[0]):
        raise TimeoutError


def _exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class RapidOcr:
    """Read images with rapidocr-onnxruntime in a child process.

    ``timeout``: the longest reading, in seconds (past it the child is killed). ``start_timeout``: the
    longest start of a child (importing onnxruntime and OpenCV, loading the models: about 1 s).
    ``command``: how to run the child, by default this interpreter on `rapidocr_worker.py`
    (``python -I``); tests and operators can wrap it (a sandbox, ``unshare -rn``)."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_side: int = 2048,
        start_timeout: float = 60.0,
        command: Sequence[str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_side = max_side
        self.start_timeout = start_timeout
        self.command = list(command) if command is not None else [sys.executable, "-I", str(WORKER)]
        self._lock = threading.Lock()
        self._child: _Child | None = None
        #: What the running child said when it was ready: the package version and its model files.
        self.ready: dict[str, Any] = {}
        #: How many children were started (a restart after a crash or a timeout counts).
        self.starts = 0

    def check(self) -> None:
        """Raise OcrFailed when the package is missing (at start-up, not per request)."""
        why = available()
        if why is not None:
            raise OcrFailed(f"OCR is not available: {why}")

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first reading or after a failure)."""
        return self._child.proc.pid if self._child is not None else None

    def read(self, data: bytes) -> OcrResult:
        """The lines of text in the image ``data`` (PNG, JPEG, WebP, …), with boxes in the image's own
        pixels. Raises OcrFailed (engine missing, undecodable image, timeout, a crashed child)."""
        started = time.perf_counter()
        image, scale = decode(data, self.max_side, "RGB")
        header = json.dumps({"width": image.width, "height": image.height}).encode()
        pixels = image.tobytes()
        with self._lock:
            child = self._child or self._start()
            deadline = time.monotonic() + self.timeout
            try:
                child.send(header, deadline)
                child.send(pixels, deadline)
                answer = child.receive(deadline)
            except TimeoutError:
                self._stop()
                raise OcrFailed(
                    f"OCR did not finish within {self.timeout:g}s (the worker was stopped)"
                ) from None
            except _Lost as exc:
                self._stop()
                raise OcrFailed(f"OCR failed: {exc}") from None
        if "error" in answer:
            raise OcrFailed(f"OCR failed: {str(answer['error'])[:200]}")
        try:
            lines = tuple(_line(x, scale) for x in answer["lines"])
        except (KeyError, TypeError, ValueError):
            raise OcrFailed("OCR failed: the worker's answer is malformed") from None
        return OcrResult(lines, time.perf_counter() - started, ("\n".join(x.text for x in lines),))

    def start(self) -> None:
        """Start the child now (the gateway does at start-up), so that an engine that cannot load is
        an error there and the first image does not wait for the models. Raises OcrFailed."""
        with self._lock:
            if self._child is None:
                self._start()

    def close(self) -> None:
        """Stop the child (it also ends by itself when this process closes its pipe)."""
        with self._lock:
            self._stop()

    def _start(self) -> _Child:
        self.check()
        try:
            proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C to the gateway's terminal is the gateway's to handle
            )
        except OSError as exc:
            raise OcrFailed(f"OCR worker could not be started ({type(exc).__name__})") from None
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = os.dup(proc.stdin.fileno()), os.dup(proc.stdout.fileno())
        proc.stdin.close()
        proc.stdout.close()
        os.set_blocking(stdin, False)
        os.set_blocking(stdout, False)
        child = _Child(proc, stdin, stdout)
        # An engine dropped (a policy reloaded) or the interpreter exiting takes its child along.
        child.finalizer = weakref.finalize(self, child.kill)
        self.starts += 1
        try:
            ready = child.receive(time.monotonic() + self.start_timeout)
        except (TimeoutError, _Lost) as exc:
            _discard(child)
            why = str(exc) or f"not ready within {self.start_timeout:g}s"
            raise OcrFailed(f"OCR worker did not start: {why}") from None
        if "ready" not in ready:
            _discard(child)
            raise OcrFailed(f"OCR worker did not start: {str(ready.get('error', 'no ready message'))[:300]}")
        self.ready = ready
        self._child = child
        return child

    def _stop(self) -> None:
        if self._child is not None:
            _discard(self._child)
            self._child = None


def _discard(child: _Child) -> None:
    """Kill a child and forget its finalizer (a restarted engine does not pile them up)."""
    child.kill()
    if child.finalizer is not None:
        child.finalizer.detach()


def _line(x: dict[str, Any], scale: float) -> OcrLine:
    """A detected line: its quadrilateral as the enclosing box, in the image's own pixels."""
    xs = [float(p[0]) for p in x["points"]]
    ys = [float(p[1]) for p in x["points"]]
    left, top = min(xs) / scale, min(ys) / scale
    box = Box(round(left), round(top), round(max(xs) / scale - left), round(max(ys) / scale - top))
    return OcrLine(str(x["text"]), box, 100.0 * float(x["score"]))
