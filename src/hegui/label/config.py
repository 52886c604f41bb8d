"""The ``[labels]`` table of the policy file: how generated content is labelled."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LabelPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
