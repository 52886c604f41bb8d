"""hegui (合规): runtime compliance for generative-AI services."""

from __future__ import annotations

__version__ = "0.1.0"
