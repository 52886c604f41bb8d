"""What `hegui config validate` and `hegui serve` both check before anything touches the database.

One function per question, shared by both commands, so that "validate says OK" means "serve starts":
an upstream's API key is looked up here and nowhere else, and the start-up warnings (a demo provider
code, an upstream without a key) are worded once. Nothing here opens a connection or a file in the data
directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from hegui.errors import ConfigError
from hegui.pipelines import build_pipeline
from hegui.policy import Policy, UpstreamPolicy


@dataclass(frozen=True, slots=True)
class Preflight:
    """The outcome of checking a policy without starting: what holds, and what an operator should fix."""

    policy: Policy
    checks: int
    #: One line per upstream saying how it is reached (with or without an API key).
    upstreams: tuple[str, ...]
    warnings: tuple[str, ...]


def upstream_api_key(
    up: UpstreamPolicy, environ: Mapping[str, str] | None = None, *, source: str | None = None
) -> str | None:
    """The upstream's API key, or None when it has none.

    ``api_key_env`` is optional: a local vLLM, Ollama or llama.cpp server usually needs no key, so an
    upstream without ``api_key_env`` is sent no ``Authorization`` header. When ``api_key_env`` names a
    variable, that variable must be set and non-empty: a key the operator asked for and forgot is a
    configuration error, not a silent anonymous request.
    """
    if not up.api_key_env:
        return None
    env = os.environ if environ is None else environ
    key = env.get(up.api_key_env, "")
    if not key:
        raise ConfigError(
            f"environment variable {up.api_key_env} is not set (set it, or remove api_key_env if the "
            "server needs no key)",
            file=source,
            key=f"upstreams.{up.name}.api_key_env",
        )
    return key


def preflight(
    policy: Policy, environ: Mapping[str, str] | None = None, *, build_checks: bool = True
) -> Preflight:
    """Check everything `serve` checks before it opens the database; raise ConfigError on the first
    problem, and return the warnings that do not stop a start.

    ``build_checks=False`` skips building the check pipeline (lexicons, classifiers: the slow part):
    `serve` passes it because the gateway builds its pipeline anyway, also before the database."""
    from hegui.gateway.labelling import Labeller
    from hegui.label.producer import producer_warning

    checks = len(build_pipeline(policy).checks) if build_checks else len(policy.checks)
    Labeller(policy.labels, source=policy.source)  # the SM2 key and the producer, as the gateway loads them
    upstreams: list[str] = []
    for up in policy.upstreams:
        if up.type == "demo":
            upstreams.append(f"upstream {up.name!r}: built-in demo (not a language model)")
        elif upstream_api_key(up, environ, source=policy.source) is None:
            upstreams.append(f"upstream {up.name!r}: {up.base_url}, no API key (api_key_env not set)")
        else:
            upstreams.append(f"upstream {up.name!r}: {up.base_url}, API key from {up.api_key_env}")
    warnings: list[str] = []
    producer = producer_warning(policy.labels.producer)
    if producer:
        warnings.append(producer)
    return Preflight(policy, checks, tuple(upstreams), tuple(warnings))
