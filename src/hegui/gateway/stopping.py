"""What a client sees when an output check stops a streamed answer.

A stream stopped mid-answer ends with ``finish_reason: "content_filter"`` and a short stop text, so that
it does not look broken: ``gateway.output_stop_text`` when set, else the ``[refusals]`` catalog's
``output_stopped`` text in the catalog's language (the same language whole answers are refused in). The
explicit AI label goes only on a message that carries generated text: text hegui wrote itself (the stop
text) is not AI-generated content, and a label on an empty message would label nothing.
"""

from __future__ import annotations

from hegui.gateway.state import GatewayState


def stream_stop_text(state: GatewayState) -> str:
    """The text that ends a stopped stream."""
    return state.policy.gateway.output_stop_text or state.refusals.notice("output_stopped")


def stop_content(stop_text: str, label_tail: str) -> str:
    """The last content of a stopped choice: the label's tail for generated text already sent (none when
    none was), then the stop text on its own paragraph."""
    if not label_tail:
        return stop_text
    return label_tail + ("\n\n" + stop_text if stop_text else "")
