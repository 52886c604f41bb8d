"""Deployment facts from the environment (``HEGUI_*``), typed and validated once at start-up.

Policy (what to check, how to act, which upstreams) lives in the policy file, see `hegui.policy`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hegui.cluster.redis_url import parse_redis_url
from hegui.errors import ConfigError


class Settings(BaseSettings):
    """Every field can be set as ``HEGUI_<NAME>`` (for example ``HEGUI_DATA_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="HEGUI_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        Path("hegui-data"),
        description="Directory for the embedded SQLite database and generated secrets.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; defaults to SQLite at <data_dir>/hegui.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    policy_file: Path | None = Field(
        None, description="The policy file (hegui.toml); the bundled default if unset."
    )
    host: str = Field("127.0.0.1", description="Address `hegui serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `hegui serve` binds to.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted (413 above).")
    max_upload_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest file accepted by POST /hegui/api/label (413 above)."
    )
    max_image_pixels: int = Field(
        36_000_000,
        ge=1_000_000,
        description="Largest image (width × height, read from its header before decoding) that "
        "POST /hegui/api/label accepts (413 above).",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description="SQLite synchronous mode. FULL: an entry survives power loss once committed; "
        "NORMAL: survives a process crash only.",
    )
    audit_batch_max: int = Field(256, ge=1, description="Most audit entries written in one group commit.")
    audit_content_key: str | None = Field(
        None,
        description="Secret for the keyed content hash in audit entries; generated into <data_dir> if unset.",
    )
    audit_key: str | None = Field(
        None,
        description="HMAC-SHA256 key(s) that authenticate every audit entry, 64 hex characters each "
        "(openssl rand -hex 32); comma-separated, newest first, to rotate. Unset: entries carry no MAC "
        "(a warning at start); never derived or generated, since a key kept beside the database protects "
        "nothing from whoever can write it.",
    )
    audit_signing_key: str | None = Field(
        None,
        description="Ed25519 key that signs audit checkpoints: a PEM file path (hegui audit keygen PATH) or "
        "the key in base64.",
    )
    audit_checkpoint_dir: Path | None = Field(
        None,
        description="Directory for signed checkpoints of the audit chain's head, one file each, never "
        "rewritten; put it where the database's writer cannot write (another host or user, WORM storage).",
    )
    audit_checkpoint_every: int = Field(1000, ge=1, description="Checkpoint after this many new entries.")
    audit_checkpoint_seconds: float = Field(
        60.0, gt=0, description="Checkpoint at most this many seconds after the head last moved."
    )
    audit_checkpoint_syslog: str | None = Field(
        None,
        description="Also send each checkpoint to syslog: host:port (UDP) or a socket path such as /dev/log.",
    )
    master_key: str | None = Field(
        None,
        description="64 hex characters: the master key that wraps every end user's data key. Generated into "
        "<data_dir>/master.key if unset; production must set it and back it up separately from the database.",
    )
    check_workers: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Threads that run blocking checks (guard model, database-backed memory) off the "
        "event loop; defaults to the database's connection-pool size.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL (redis://host:6379/0, or redis+cluster://host:port[,host:port…] for a Redis "
        "Cluster) shared by the gateway replicas: session memory, rate-limit counters, and events (key "
        "revocation, lexicon reload, sanction steps) between them. Unset: one process keeps all of it in "
        "memory. Needs the redis extra.",
    )
    redis_memory_seconds: int = Field(
        86_400,
        ge=60,
        description="With HEGUI_REDIS_URL: a session's memory in Redis expires this long after its last turn.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log lines as text, or as one JSON object per line (time, level, logger, message, "
        "request_id) for a log collector.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes `hegui serve` starts on one port (uvicorn workers). Above 1 needs "
        "PostgreSQL (HEGUI_DATABASE_URL): SQLite takes one writing process per file.",
    )
    shutdown_grace_seconds: float = Field(
        25.0,
        ge=0,
        le=3600,
        description="On SIGTERM, how long open requests and streams may run to their end before they are "
        "cut; then the audit writer is flushed and a last checkpoint written. Keep it below the "
        "orchestrator's kill deadline (Kubernetes terminationGracePeriodSeconds, default 30).",
    )
    otel: bool = Field(
        False,
        description="OpenTelemetry traces of every HTTP request (needs the otel extra: "
        "pip install 'hegui[otel]'); exported by OTLP as the standard OTEL_* variables say.",
    )
    first_key: bool = Field(
        True,
        description="On first start with no API keys, create a client key and print it once.",
    )

    @field_validator(
        "policy_file",
        "database_url",
        "audit_content_key",
        "audit_key",
        "audit_signing_key",
        "audit_checkpoint_dir",
        "audit_checkpoint_syslog",
        "master_key",
        "redis_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_form(cls, value: str | None) -> str | None:
        """A malformed URL is refused with the settings, before the database is touched (it used to be
        read only after the migrations had run)."""
        if value is not None:
            parse_redis_url(value)  # ConfigError naming HEGUI_REDIS_URL and the accepted forms
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hegui.db').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with keyword overrides; a bad value raises ConfigError naming it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        key = "HEGUI_" + "_".join(str(p) for p in err["loc"]).upper()
        raise ConfigError(err["msg"], file="environment", key=key) from None
