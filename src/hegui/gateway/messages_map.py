"""The field map of ``POST /v1/messages`` (Anthropic's Messages API), request and answer.

As with /v1/responses, hegui answers this API by translation (messages_api.py): the request's fields are
inspected under their own names (``messages[1].content[0].content``), then turned into a chat completion
request for the OpenAI-compatible upstream; the chat answer is inspected under the chat map and written
back as a Message or as Messages stream events. The answer map declares what hegui writes.

Refused rather than dropped: image blocks unless ``[media] image_parts`` reads or passes them
(`messages_request`), document, search-result and container-upload blocks (no check reads them), server tools (web search, code execution, …) and their result blocks, redacted thinking (it cannot
be read), and every block type this map does not know. ``tool_use.input`` is free-form JSON: every key
and string in it is inspected; a ``tool_result``'s content (a string or text blocks) is inspected like
any user text.
"""

from __future__ import annotations

import functools

from hegui.gateway.fields import (
    MODEL,
    NUM,
    TEXT,
    WHOLE,
    Arr,
    Counts,
    Either,
    Leaf,
    Obj,
    Spec,
    Tagged,
    Tree,
    binary,
    enum,
    obj,
    refused,
)

SCHEMA = Tree("a JSON schema: descriptions, titles, enum values and property names reach the model")
FREE = Tree("free-form: every string in it is inspected")
CACHE = obj(type=enum("ephemeral"), ttl=enum("5m", "1h"))

_UNINSPECTABLE = refused("this block cannot be inspected (hegui has no image, document or file check)")
_SERVER = refused(
    "server tools and their results (web search, web fetch, code execution, tool search, containers) "
    "are not translated to the chat upstream"
)
_OTHER_BLOCK = refused("unknown content block type: only text, tool_use, tool_result and thinking")

TEXT_BLOCK = obj(type=enum("text"), text=TEXT, cache_control=CACHE, citations=FREE)
TOOL_RESULT_CONTENT = Tagged(
    "type",
    {
        "text": TEXT_BLOCK,
        "image": _UNINSPECTABLE,
        "document": _UNINSPECTABLE,
        "search_result": _UNINSPECTABLE,
    },
    default=_OTHER_BLOCK,
)
BLOCK = Tagged(
    "type",
    {
        "text": TEXT_BLOCK,
        "tool_use": obj(
            type=enum("tool_use"),
            id=WHOLE,
            name=TEXT,
            input=FREE,
            cache_control=CACHE,
            caller=FREE,
            toolset_name=TEXT,
        ),
        "tool_result": obj(
            type=enum("tool_result"),
            tool_use_id=WHOLE,
            content=Either(str_=TEXT, list_=Arr(TOOL_RESULT_CONTENT)),
            is_error=NUM,
            cache_control=CACHE,
            toolset_name=TEXT,
        ),
        "thinking": obj(type=enum("thinking"), thinking=TEXT, signature=WHOLE),
        "redacted_thinking": refused("redacted thinking is encrypted: it cannot be inspected"),
        "image": refused(
            "an image block is read only with [media] image_parts = 'ocr' (its text is then inspected), or "
            "passed unread and marked with 'pass_with_label'; otherwise it cannot be inspected"
        ),
        "document": _UNINSPECTABLE,
        "search_result": _UNINSPECTABLE,
        "container_upload": _UNINSPECTABLE,
        "server_tool_use": _SERVER,
        "web_search_tool_result": _SERVER,
        "web_fetch_tool_result": _SERVER,
        "code_execution_tool_result": _SERVER,
        "bash_code_execution_tool_result": _SERVER,
        "text_editor_code_execution_tool_result": _SERVER,
        "tool_search_tool_result": _SERVER,
    },
    default=_OTHER_BLOCK,
)
MESSAGE = obj(
    role=enum("user", "assistant"),
    content=Either(str_=TEXT, list_=Arr(BLOCK)),
)
CUSTOM_TOOL = obj(
    type=enum("custom"),
    name=TEXT,
    description=TEXT,
    input_schema=SCHEMA,
    cache_control=CACHE,
    strict=NUM,
    defer_loading=NUM,
    eager_input_streaming=NUM,
    input_examples=FREE,
    allowed_callers=FREE,
)
TOOL = Tagged("type", {"custom": CUSTOM_TOOL}, default=_SERVER)
TOOL_CHOICE = Tagged(
    "type",
    {
        "auto": obj(type=enum("auto"), disable_parallel_tool_use=NUM),
        "any": obj(type=enum("any"), disable_parallel_tool_use=NUM),
        "none": obj(type=enum("none")),
        "tool": obj(type=enum("tool"), name=TEXT, disable_parallel_tool_use=NUM),
    },
    default=refused("unknown tool_choice type"),
)

MESSAGES_REQUEST = obj(
    model=MODEL,
    max_tokens=NUM,
    messages=Arr(MESSAGE),
    system=Either(str_=TEXT, list_=Arr(Tagged("type", {"text": TEXT_BLOCK}, default=_OTHER_BLOCK))),
    tools=Arr(TOOL),
    tool_choice=TOOL_CHOICE,
    stop_sequences=Arr(TEXT),
    temperature=NUM,
    top_p=NUM,
    top_k=NUM,
    stream=NUM,
    metadata=obj(user_id=WHOLE),
    thinking=FREE,
    service_tier=enum("auto", "standard_only"),
    speed=enum("standard", "fast"),
    output_config=FREE,
    cache_control=CACHE,
    inference_geo=WHOLE,
    diagnostics=FREE,
    container=refused("containers (server-side code execution) are not translated"),
    user_profile_id=WHOLE,
    workspace_id=WHOLE,
    mcp_servers=refused("MCP servers are not translated"),
)

# With [media] image_parts = "ocr" or "pass_with_label" a message's image blocks are declared
# (media_inspect.messages_media_slots reads or marks them; to_chat sends them on as chat image_url parts).


def _image_block(how: str) -> Obj:
    return obj(
        type=enum("image"),
        source=Tagged(
            "type",
            {
                "base64": obj(
                    type=enum("base64"),
                    media_type=enum("image/png", "image/jpeg", "image/webp"),
                    data=binary(f"the image ([media] image_parts = {how})"),
                ),
                "url": obj(type=enum("url"), url=binary(f"the image ([media] image_parts = {how})")),
            },
            default=refused("an image source must be base64 or url (a stored file cannot be read)"),
        ),
        cache_control=CACHE,
    )


@functools.lru_cache(maxsize=4)
def messages_request(images: str) -> Spec:
    """The request's map under the [media] policy (``images``: its ``image_parts``): a message's image
    blocks declared when they are read by OCR or passed unread with a mark; otherwise refused
    (MESSAGES_REQUEST). A tool result's images stay refused."""
    if images not in ("ocr", "pass_with_label"):
        return MESSAGES_REQUEST
    how = (
        "'ocr': read by OCR, its text inspected, sent on as the bytes read"
        if images == "ocr"
        else "'pass_with_label': forwarded unread, named in the input audit entry and X-Hegui-Uninspected"
    )
    block = Tagged("type", dict(BLOCK.variants) | {"image": _image_block(how)}, default=BLOCK.default)
    message = Obj(dict(MESSAGE.fields) | {"content": Either(str_=TEXT, list_=Arr(block))})
    return Obj(dict(MESSAGES_REQUEST.fields) | {"messages": Arr(message)})


# -- answer (what hegui writes, from the inspected chat answer) ---------------------------------------

_NOT_WRITTEN = refused("never written by hegui: the answer is built from the inspected chat answer")
OUT_BLOCK = Tagged(
    "type",
    {
        "text": obj(type=enum("text"), text=TEXT, citations=Arr(_NOT_WRITTEN)),
        "tool_use": obj(
            type=enum("tool_use"),
            id=WHOLE,
            name=TEXT,
            input=FREE,
            caller=_NOT_WRITTEN,
            toolset_name=_NOT_WRITTEN,
        ),
    },
    default=_NOT_WRITTEN,
)
STOP_REASON = enum("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal")
MESSAGE_ANSWER = obj(
    id=Leaf(WHOLE.kind, reason="hegui's response id"),
    type=enum("message"),
    role=enum("assistant"),
    model=MODEL,
    content=Arr(OUT_BLOCK),
    stop_reason=STOP_REASON,
    stop_sequence=TEXT,
    stop_details=_NOT_WRITTEN,
    usage=Counts(),
    container=_NOT_WRITTEN,
    diagnostics=_NOT_WRITTEN,
    AIGC=FREE,
)
MESSAGES_EVENT = Tagged(
    "type",
    {
        "message_start": obj(type=enum("message_start"), message=MESSAGE_ANSWER),
        "message_delta": obj(
            type=enum("message_delta"),
            delta=obj(
                stop_reason=STOP_REASON, stop_sequence=TEXT, stop_details=_NOT_WRITTEN, container=_NOT_WRITTEN
            ),
            usage=Counts(),
            context_management=_NOT_WRITTEN,
            AIGC=FREE,
        ),
        "message_stop": obj(type=enum("message_stop")),
        "content_block_start": obj(type=enum("content_block_start"), index=NUM, content_block=OUT_BLOCK),
        "content_block_delta": obj(
            type=enum("content_block_delta"),
            index=NUM,
            delta=Tagged(
                "type",
                {
                    "text_delta": obj(type=enum("text_delta"), text=TEXT),
                    "input_json_delta": obj(type=enum("input_json_delta"), partial_json=TEXT),
                },
                default=_NOT_WRITTEN,
            ),
        ),
        "content_block_stop": obj(type=enum("content_block_stop"), index=NUM),
        "error": obj(type=enum("error"), error=obj(type=WHOLE, message=TEXT)),
    },
    default=_NOT_WRITTEN,
)
