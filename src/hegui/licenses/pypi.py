"""Opt-in PyPI resolver: licenses for declared Python packages that are not installed anywhere scanned.

``hegui licenses scan PATH --resolve pypi`` asks the JSON API (``<index>/<name>/<version>/json``, or
``<index>/<name>/json`` — the latest release — when the requirement has no exact ``==`` pin, which the
component's notes then say) and reads ``license_expression`` (PEP 639), ``license`` and the
``License ::`` classifiers through the same :func:`hegui.licenses.scan_python.license_of` the installed
metadata path uses. Answers are cached on disk (pinned releases forever, "latest" for a day).

It must never run unless asked, never raise for a bad answer (404, timeout, offline, malformed JSON
each become a ``pypi-lookup-failed`` finding naming the package, and the package stays unresolved), and
never execute anything it downloads: it reads JSON only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from email.message import Message
from pathlib import Path

import httpx

from hegui.licenses.scan_python import canonical, license_of
from hegui.licenses.types import Evidence, Inventory

DEFAULT_INDEX = "https://pypi.org/pypi"
LATEST_TTL = 24 * 3600.0
_REMEDY = (
    "check the package name and version, or the network / --pypi-url; until then its license is not "
    "checked (or install it and scan the environment with --python-env)"
)

Progress = Callable[[int, int], None]


def default_cache_dir() -> Path:
    """``$HEGUI_PYPI_CACHE``, else ``$XDG_CACHE_HOME/hegui/pypi``, else ``~/.cache/hegui/pypi``."""
    explicit = os.environ.get("HEGUI_PYPI_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hegui" / "pypi"


@dataclass(frozen=True)
class Lookup:
    """The answer for one package: its license and field, or the error that prevented one."""

    name: str
    requested: str  # the pinned version asked for, "" for the latest release
    version: str = ""
    license: str | None = None
    field: str = ""
    url: str = ""
    error: str = ""
    cached: bool = False
    fallback: bool = False  # the pinned release had no JSON: the latest release's metadata was read


def license_of_json(info: dict[str, object]) -> tuple[str | None, str]:
    """The license of a PyPI JSON ``info`` object, decided exactly like installed metadata."""
    meta = Message()
    for key, header in (("license_expression", "License-Expression"), ("license", "License")):
        value = info.get(key)
        if isinstance(value, str) and value.strip():
            meta[header] = value
    classifiers = info.get("classifiers")
    if isinstance(classifiers, list):
        for item in classifiers:
            if isinstance(item, str):
                meta["Classifier"] = item
    return license_of(meta)


_JSON_FIELD = {
    "License-Expression": "info.license_expression",
    "License": "info.license",
    "Classifier": "info.classifiers",
}
_KEEP = ("name", "version", "license_expression", "license", "classifiers")


class PyPIResolver:
    """Fetches and caches PyPI JSON for (name, version) pairs with bounded concurrency."""

    def __init__(
        self,
        *,
        index_url: str = DEFAULT_INDEX,
        cache_dir: Path | None = None,
        timeout: float = 10.0,
        concurrency: int = 8,
        use_cache: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.index_url = index_url.rstrip("/")
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.timeout = timeout
        self.concurrency = concurrency
        self.use_cache = use_cache
        self._transport = transport

    def url(self, name: str, version: str) -> str:
        return f"{self.index_url}/{name}/{version}/json" if version else f"{self.index_url}/{name}/json"

    def _cache_file(self, name: str, version: str) -> Path:
        safe_version = "".join(ch if ch.isalnum() or ch in ".+-_!" else "_" for ch in version)
        return self.cache_dir / canonical(name) / f"{safe_version or '_latest'}.json"

    def _read_cache(self, name: str, version: str) -> dict[str, object] | None:
        if not self.use_cache:
            return None
        path = self._cache_file(name, version)
        try:
            if not version and time.time() - path.stat().st_mtime > LATEST_TTL:
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # missing or damaged entry: ask the index again
        return data if isinstance(data, dict) else None

    def _write_cache(self, name: str, version: str, info: dict[str, object]) -> None:
        if not self.use_cache:
            return
        path = self._cache_file(name, version)
        kept = {k: info.get(k) for k in _KEEP}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(kept), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            return  # an unwritable cache only costs a repeat request next time

    def _answer(self, name: str, version: str, info: dict[str, object], *, cached: bool) -> Lookup:
        lic, field = license_of_json(info)
        got = info.get("version")
        return Lookup(
            name=name,
            requested=version,
            version=got if isinstance(got, str) else version,
            license=lic,
            field=_JSON_FIELD.get(field, field),
            url=self.url(name, version),
            cached=cached,
        )

    def fetch(self, client: httpx.Client, name: str, version: str) -> Lookup:
        """One package; every failure is returned as ``Lookup.error``, never raised."""
        hit = self._read_cache(name, version)
        if hit is not None:
            return self._answer(name, version, hit, cached=True)
        url = self.url(name, version)
        try:
            resp = client.get(url)
        except httpx.TimeoutException:
            return Lookup(name, version, url=url, error=f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Lookup(name, version, url=url, error=f"request failed: {type(exc).__name__}: {exc}")
        if resp.status_code == 404 and version:
            # some indexes and mirrors serve only the project JSON; its `info` is the latest release
            latest = self.fetch(client, name, "")
            if latest.error:
                return Lookup(
                    name, version, url=url, error=f"HTTP 404 (not found on the index); {latest.error}"
                )
            return replace(latest, requested=version, fallback=True)
        if resp.status_code != 200:
            what = "not found on the index" if resp.status_code == 404 else "unexpected answer"
            return Lookup(name, version, url=url, error=f"HTTP {resp.status_code} ({what})")
        try:
            data = resp.json()
        except ValueError as exc:
            return Lookup(name, version, url=url, error=f"malformed JSON: {exc}")
        info = data.get("info") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            return Lookup(name, version, url=url, error="malformed JSON: no `info` object")
        self._write_cache(name, version, info)
        return self._answer(name, version, info, cached=False)

    def fetch_all(self, wanted: list[tuple[str, str]], progress: Progress | None = None) -> list[Lookup]:
        """Every (name, version) pair, at most ``concurrency`` requests at a time, in input order."""
        if not wanted:
            return []
        done = 0
        limits = httpx.Limits(max_connections=self.concurrency)
        headers = {"User-Agent": "hegui-licenses (+https://pypi.org/project/hegui)"}
        with (
            httpx.Client(
                timeout=self.timeout,
                limits=limits,
                headers=headers,
                follow_redirects=True,
                transport=self._transport,
            ) as client,
            ThreadPoolExecutor(max_workers=self.concurrency) as pool,
        ):
            futures = [pool.submit(self.fetch, client, n, v) for n, v in wanted]
            results = []
            for future in futures:
                results.append(future.result())
                done += 1
                if progress is not None:
                    progress(done, len(wanted))
        return results


def resolve_inventory(inv: Inventory, resolver: PyPIResolver, progress: Progress | None = None) -> int:
    """Replace every unresolved declared Python package in ``inv`` by its PyPI answer.

    Returns how many were resolved. A failed lookup adds a ``pypi-lookup-failed`` finding naming the
    package and leaves the component unresolved (so it is also listed by ``unresolved-dependencies``).
    """
    pending = [
        i
        for i, c in enumerate(inv.components)
        if c.kind == "python" and c.license is None and "unresolved" in c.notes
    ]
    keys = list(
        dict.fromkeys((canonical(inv.components[i].name), inv.components[i].version) for i in pending)
    )
    answers = dict(zip(keys, resolver.fetch_all(keys, progress), strict=True))
    resolved = 0
    for i in pending:
        comp = inv.components[i]
        got = answers[(canonical(comp.name), comp.version)]
        if got.error:
            inv.problem(
                "pypi-lookup-failed",
                f"{comp.name}{'==' + comp.version if comp.version else ''}: PyPI lookup failed: {got.error}",
                comp.evidence,
                _REMEDY,
                component=f"python:{comp.name}",
            )
            continue
        pin = (
            f"PyPI release {got.version} (pinned)"
            if comp.version and not got.fallback
            else f"PyPI latest release {got.version}: the pinned {comp.version} has no JSON on the index, "
            "so its license may differ"
            if comp.version
            else f"PyPI latest release {got.version}: the requirement has no exact pin, so the "
            "installed version may differ"
        )
        field = got.field
        if not comp.version:
            field += f" (latest release {got.version}; not pinned)"
        elif got.fallback:
            field += f" (latest release {got.version}; {comp.version} has no JSON on this index)"
        inv.components[i] = replace(
            comp,
            license=got.license,
            version=comp.version if got.fallback else (got.version or comp.version),
            evidence=Evidence(got.url, field),
            notes=(f"declared in {comp.evidence}", pin),
        )
        resolved += 1
    return resolved
