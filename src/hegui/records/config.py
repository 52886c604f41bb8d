"""The ``[records]`` policy table: consent defaults per channel, serving preconditions, DSR deadlines,
training-pool admission settings. Validated with the rest of the policy file; never read from globals."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RecordsPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consent_default_api: bool = Field(
        False,
        description="Training consent of an API-channel user with no consent event: false = opt-in "
        "(off until the user agrees).",
    )
    consent_default_chat: bool = Field(
        True,
        description="Training consent of a chat-channel user with no consent event: true = opt-out "
        "(on until the user says no).",
    )
    require_agreement: bool = Field(
        False,
        description="Serve an end user only after they accepted the current service agreement and "
        "privacy policy (IM 9).",
    )
    require_verification: bool = Field(
        False, description="Serve an end user only once the provider marked them real-name verified (DS 9)."
    )
    store_conversations: bool = Field(
        True, description="Keep conversations (encrypted under each user's own key) for DSR access."
    )
    dsr_deadline_days: int = Field(
        15, ge=1, le=60, description="Working days (Chinese calendar) to answer a data-subject request."
    )
    pool_rules_version: str = Field(
        "1", description="Name of the admission rules; written into every pool record and export manifest."
    )
    pool_near_duplicate: float = Field(
        0.8,
        gt=0.0,
        le=1.0,
        description="Estimated Jaccard similarity (MinHash) at or above which a turn is a near-duplicate of "
        "one already in the pool and is not admitted.",
    )
    pool_min_chars: int = Field(
        1, ge=0, description="Turns whose scrubbed prompt is shorter than this are not admitted."
    )
    sanction_store: Literal["database", "memory"] = Field(
        "database",
        description="Where the sanction ladder keeps violations and steps: the database (survives restarts, "
        "shared by replicas; IM 14 records) or process memory (tests, throw-away demos).",
    )
    memory_store: Literal["database", "memory"] = Field(
        "memory",
        description="Where session memory (recent turns, refused-prompt sketches) lives: process memory "
        "(fast, lost on restart, per replica) or the database (turns encrypted under the user's key; "
        "needed when replicas share sessions).",
    )
    memory_turns: int = Field(
        64, ge=1, le=1024, description="Recent turns kept per session for the split-turn checks."
    )

    def consent_default(self, channel: str) -> bool:
        return self.consent_default_chat if channel == "chat" else self.consent_default_api
