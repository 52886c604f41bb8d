"""The policy file (``hegui.toml``): upstreams, checks per stage, actions, wording, retention.

Loaded and validated once at start-up. Any problem raises `ConfigError` naming the file and the key
(``checks[0].terms``), so that `hegui serve` refuses to start and `hegui config validate` can say the
same without starting.
"""

from __future__ import annotations

import hashlib
import ipaddress
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hegui.cases.config import CasesPolicy
from hegui.cluster.config import LimitsPolicy
from hegui.errors import ConfigError
from hegui.guard.checkspec import CheckPolicy
from hegui.guard.egress import EgressPolicy
from hegui.guard.fusion import PresetName
from hegui.guard.refusals import RefusalPolicy
from hegui.guard.sanctions import SanctionPolicy
from hegui.label.config import LabelPolicy
from hegui.media.config import MediaPolicy
from hegui.records.config import RecordsPolicy


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderPolicy(_Strict):
    name: str = Field("hegui-demo-provider", description="The provider's name, as shown to users.")
    region: str = Field(
        "CN", description="The provider's jurisdiction; upstreams elsewhere are cross-border."
    )
    time_zone: str = Field(
        "Asia/Shanghai",
        description="The service's time zone (IANA name): times shown to users, such as the end of a "
        "suspension, are given in it with their UTC offset.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    filing_number: str = Field(
        "", description="The service's filing (备案) number, shown in the public pages' footer (DS-04)."
    )
    filing_url: str = Field("", description="Where the filing number links to (the public filing record).")
    complaint_contact: str = Field(
        "",
        description="A contact for complaints besides the /report form (e-mail or telephone), shown on /privacy.",
    )


class GatewayPolicy(_Strict):
    refusal_text: str = Field(
        "",
        description="If set, the answer sent for every refused input; if empty, the [refusals] catalog's "
        "text for the refused risk category.",
    )
    output_stop_text: str = Field(
        "",
        description="Text sent when a check stops an answer: it replaces a whole answer (empty: the refusal "
        "text) and ends a stream (empty: the [refusals] catalog's output_stopped text).",
    )
    recent_turns: int = Field(
        4,
        ge=1,
        le=64,
        description="How many recent user turns are joined and inspected together, so that a term split "
        "across turns does not pass.",
    )
    logprobs: Literal["drop", "released"] = Field(
        "drop",
        description="Token-level echoes of answers (logprobs) while any output check is active: 'drop' "
        "nulls them; 'released' passes only entries for text the inspector has released unchanged, "
        "without the alternatives (top_logprobs).",
    )
    stream_sentence_max_chars: int = Field(
        200,
        ge=1,
        le=100_000,
        description='In a stream, checks that judge at sentence ends (judges_at = "sentence") judge a '
        "sentence longer than this anyway, so that text without punctuation is not held back to the end.",
    )
    stream_release_step: int = Field(
        4,
        ge=1,
        le=4096,
        description="In a stream, the span checks (deny-list, lexicon, PII) rescan the unreleased tail "
        "to let more text go once this many characters have arrived since their last scan (or a sentence "
        "has ended, or the stream ends): 1 rescans on every chunk. Each rescan reads the whole tail, so "
        "on a model that streams a character or two per token, 4 costs a third of the CPU of 1 and "
        "releases text at most 3 characters later.",
    )
    request_deadline: float = Field(
        300.0,
        gt=0,
        le=86400,
        description="Longest time, in seconds, for the whole of one upstream answer, streamed or not; a "
        "stream still running then ends with an upstream_timeout error event.",
    )
    stream_idle_timeout: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="Longest wait, in seconds, between two data events of a stream. SSE comments "
        "(`: ping`) do not reset it: a keep-alive proves the connection, not the generation.",
    )
    max_n: int = Field(10, ge=1, le=16, description="Largest `n` (choices or images) a request may ask for.")
    max_image_side: int = Field(
        4096, ge=16, le=65536, description="Largest width or height in an image request's `size`."
    )
    max_answer_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024,
        description="Largest upstream answer read, a whole body or all of a stream; past it the answer is "
        "refused (upstream_malformed) instead of filling the gateway's memory.",
    )
    media_max_bytes: int = Field(
        20 * 1024 * 1024,
        ge=1024,
        description="Largest image the gateway downloads from a URL in an upstream's answer; reading "
        "stops past it.",
    )
    media_timeout: float = Field(
        30.0, gt=0, le=3600, description="Longest time, in seconds, for one image download (all hops)."
    )
    media_max_redirects: int = Field(
        3, ge=0, le=10, description="Redirects followed per image download; each hop is checked again."
    )
    media_allow_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) an image URL may point into although they are private, loopback or "
        "link-local; empty: only public addresses, plus the upstream's own origin.",
    )

    @model_validator(mode="after")
    def _networks(self) -> GatewayPolicy:
        for net in self.media_allow_networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ValueError(f"media_allow_networks: {net!r} is not a network: {exc}") from None
        return self


class UpstreamPolicy(_Strict):
    name: str
    type: Literal["openai", "anthropic", "demo"] = "openai"
    base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible API (type openai) or of Anthropic's Messages API "
        "(type anthropic, e.g. https://api.anthropic.com/v1), ending in /v1.",
    )
    anthropic_version: str = Field(
        "2023-06-01", description="The anthropic-version header sent to an upstream of type anthropic."
    )
    api_key_env: str | None = Field(None, description="Environment variable holding the upstream's API key.")
    region: str | None = Field(
        None, description="Where the upstream runs; defaults to the provider's region."
    )
    models: list[str] = Field(min_length=1, description="Model names routed to this upstream.")
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(60.0, gt=0, description="Longest wait for any byte of the answer.")
    total_timeout: float = Field(120.0, gt=0, description="Longest wait for a whole non-streamed answer.")
    max_retries: int = Field(2, ge=0, le=10, description="Retries on connection errors only.")
    max_connections: int = Field(100, ge=1)
    breaker_failures: int = Field(5, ge=1, description="Consecutive failures that open the circuit.")
    breaker_reset_seconds: float = Field(30.0, gt=0, description="How long an open circuit stays open.")

    @model_validator(mode="after")
    def _needs_url(self) -> UpstreamPolicy:
        if self.type in ("openai", "anthropic"):
            if not self.base_url:
                raise ValueError(f"an upstream of type {self.type!r} needs base_url")
            if not self.base_url.startswith(("http://", "https://")):
                raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        return self


class GuardPolicy(_Strict):
    """How the guard weighs its evidence (docs/guard.md, "Fusion and presets")."""

    preset: PresetName = Field(
        "balanced",
        description="strict, balanced or lenient: the models' thresholds and how topic terms combine.",
    )
    specialists: dict[str, str] = Field(
        default_factory=dict,
        description="Top-level risk (A.1 … A.5) → the name of a check that must confirm a model's refusal in "
        "that category (e.g. the offensive-language classifier for A.2).",
    )

    @field_validator("specialists")
    @classmethod
    def _top_level(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if k not in ("A.1", "A.2", "A.3", "A.4", "A.5")]
        if bad:
            raise ValueError(f"specialists are keyed by a top-level risk A.1 … A.5, not {bad}")
        return value


class RetentionPolicy(_Strict):
    network_log_days: int = Field(
        181, ge=181, description="Network logs are kept at least 6 months (CSL 21)."
    )
    prompt_days: int = Field(30, ge=0, description="Stored prompts are kept no longer than this.")


class Policy(_Strict):
    version: str = Field(
        "1", description="Your name for this policy revision; recorded in every audit entry."
    )
    provider: ProviderPolicy = ProviderPolicy()
    gateway: GatewayPolicy = GatewayPolicy()
    upstreams: list[UpstreamPolicy] = Field(min_length=1)
    checks: list[CheckPolicy] = Field(default_factory=list)
    guard: GuardPolicy = GuardPolicy()
    retention: RetentionPolicy = RetentionPolicy()
    labels: LabelPolicy = LabelPolicy()
    sanctions: SanctionPolicy = SanctionPolicy()
    refusals: RefusalPolicy = RefusalPolicy()
    records: RecordsPolicy = RecordsPolicy()
    egress: EgressPolicy = EgressPolicy()
    cases: CasesPolicy = CasesPolicy()
    media: MediaPolicy = MediaPolicy()
    limits: LimitsPolicy = LimitsPolicy()

    #: Where the file was read from, for relative paths (terms files, lexicons) and messages.
    source: str = Field("<bundled>", exclude=True)
    digest: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _unique(self) -> Policy:
        seen: dict[str, str] = {}
        for i, up in enumerate(self.upstreams):
            for model in up.models:
                if model in seen:
                    raise ValueError(
                        f"upstreams[{i}]: model {model!r} is already served by upstream {seen[model]!r}"
                    )
                seen[model] = up.name
        names = [u.name for u in self.upstreams]
        if len(set(names)) != len(names):
            raise ValueError("upstream names must be unique")
        checks = [c.name for c in self.checks]
        if len(set(checks)) != len(checks):
            raise ValueError("check names must be unique")
        return self

    @property
    def full_version(self) -> str:
        """The version as recorded in audit entries: the declared name plus a digest of the file."""
        return f"{self.version}+{self.digest[:12]}" if self.digest else self.version

    @property
    def base_dir(self) -> Path:
        return Path(self.source).parent if self.source != "<bundled>" else Path(".")

    def upstream_region(self, upstream: UpstreamPolicy) -> str:
        return upstream.region or self.provider.region


def bundled_policy_text() -> str:
    return resources.files("hegui").joinpath("default_policy.toml").read_text(encoding="utf-8")


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_policy(text: str, source: str) -> Policy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=source) from None
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _loc(tuple(p for p in err["loc"] if not str(p).startswith("function-after")))
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(msg + more, file=source, key=key or None) from None
    digest = hashlib.sha256(text.encode()).hexdigest()
    return policy.model_copy(update={"source": source, "digest": digest})


def load_policy(path: Path | None) -> Policy:
    """The policy at ``path``, or the bundled default when ``path`` is None."""
    if path is None:
        return parse_policy(bundled_policy_text(), "<bundled>")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(path)) from None
    return parse_policy(text, str(path))
