"""Speech to text through the operator's own ASR server (an OpenAI-compatible
``POST {asr_url}/audio/transcriptions``: a local whisper.cpp, faster-whisper or vLLM server), so that
the speech in a chat request's ``input_audio`` part is inspected like typed text.

No speech model ships with hegui or is downloaded by it; without ``[media] audio_parts = "transcribe"``
audio parts are refused. Fail closed: a transcription that fails (server down, timeout, an answer
without ``text``) raises `AsrFailed`, a `CheckFailed`; the request is refused, never passed unheard.
"""

from __future__ import annotations

import os

import httpx

from hegui.errors import CheckFailed
from hegui.media.config import MediaPolicy

_MEDIA = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "m4a": "audio/mp4",
}


class AsrFailed(CheckFailed):
    """The speech could not be transcribed; its words are unknown, so it is not passed."""


async def transcribe(policy: MediaPolicy, audio: bytes, fmt: str) -> str:
    """The transcript of ``audio`` (``fmt``: wav, mp3, …) from the configured server."""
    headers = {}
    if policy.asr_api_key_env:
        key = os.environ.get(policy.asr_api_key_env, "")
        if not key:
            raise AsrFailed(f"the ASR key variable {policy.asr_api_key_env} is not set")
        headers["authorization"] = f"Bearer {key}"
    url = policy.asr_url.rstrip("/") + "/audio/transcriptions"
    files = {"file": (f"audio.{fmt}", audio, _MEDIA.get(fmt, "application/octet-stream"))}
    try:
        async with httpx.AsyncClient(timeout=policy.asr_timeout, trust_env=False) as client:
            response = await client.post(url, data={"model": policy.asr_model}, files=files, headers=headers)
    except httpx.HTTPError as exc:
        raise AsrFailed(f"the ASR server failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise AsrFailed(f"the ASR server answered {response.status_code}")
    try:
        text = response.json().get("text")
    except (ValueError, AttributeError):
        text = None
    if not isinstance(text, str):
        raise AsrFailed("the ASR server's answer has no text")
    return text
