"""Loopback plumbing for benchmarks: start and stop processes, wait for readiness, count CPU time.

Used by ``proxy_overhead.py``. It reads CPU time from ``/proc`` (Linux), stops only the processes it
started (by their own pid, never by name) and binds nothing but 127.0.0.1. It must never hide a failure:
a service that exits or never gets ready raises BenchError with the tail of its log.
"""

from __future__ import annotations

import http.client
import os
import resource
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class BenchError(RuntimeError):
    """The benchmark cannot go on (a service did not start, an answer was wrong): stop and say why."""


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def _proc_tree(root: int) -> list[int]:
    """``root`` and its living descendants (a proxy may run workers as child processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended while we looked; it has no CPU left to count
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process tree so far."""
    ticks = 0
    for pid in _proc_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _clock_ticks()


def own_cpu_seconds() -> float:
    """CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have been waited for (wrk, once it exits)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / _clock_ticks()


@dataclass
class Service:
    """A process this benchmark started; stopped by its own pid, never by name."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None) -> Service:
    """Start ``argv`` in ``workdir`` with its output in ``workdir/NAME.log``."""
    log = workdir / f"{name}.log"
    handle = log.open("wb")
    proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    handle.close()
    return Service(name, proc, log)


def wait_ready(service: Service, url: str, timeout: float) -> float:
    """Poll ``url`` until 200; return seconds taken. Otherwise stop the service and raise BenchError."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if service.proc.poll() is not None:
            raise BenchError(f"{service.name} exited with {service.proc.returncode}:\n{service.tail()}")
        try:
            if http_status(url, timeout=2) == 200:
                return time.monotonic() - started
        except OSError:
            pass  # not listening yet; the loop is bounded by `timeout`
        time.sleep(0.2)
    service.stop()
    raise BenchError(f"{service.name} not ready at {url} after {timeout:.0f} s:\n{service.tail()}")


def http_status(url: str, timeout: float) -> int:
    """Status of ``GET url`` (raises OSError when nothing answers)."""
    host, port, path = split_url(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def split_url(url: str) -> tuple[str, int, str]:
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    return host, int(port), "/" + path
