"""The ASR hook (``[media] audio_parts = "transcribe"``) fails closed and needs its server's URL."""

from __future__ import annotations

import pytest


def test_asr_fails_closed() -> None:
    import asyncio

    from hegui.media.asr import AsrFailed, transcribe
    from hegui.media.config import MediaPolicy

    policy = MediaPolicy(audio_parts="transcribe", asr_url="http://127.0.0.1:9/v1", asr_timeout=2)
    with pytest.raises(AsrFailed, match="ASR server failed"):
        asyncio.run(transcribe(policy, b"RIFF", "wav"))
    with pytest.raises(ValueError, match="asr_url"):
        MediaPolicy(audio_parts="transcribe")
