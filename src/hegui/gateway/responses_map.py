"""The field map of ``POST /v1/responses`` (the OpenAI Responses API), request and answer.

hegui answers this API by translation (responses_api.py): the request's fields are inspected here, under
their own names (``input[2].output``), then turned into a chat completion request for the
OpenAI-compatible upstream; the upstream's chat answer is inspected under the chat map (fieldmap.py) and
turned into a Responses answer. So the answer map below declares what hegui *writes*: each text in it
comes from an inspected chat field, and the output item types hegui never writes are declared refused.

What the translation cannot carry is refused, never dropped silently: stored state hegui does not keep
(``previous_response_id``, ``conversation``, stored ``prompt`` templates), hosted tools (web and file
search, computer use, code interpreter, MCP, shell …), and every input item or content part type other
than messages with text, function calls, function-call outputs and reasoning items. A tool's output
(``function_call_output``) is inspected like any user text: it was a bypass in another gateway.
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
    Map,
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
STATUS = enum("in_progress", "completed", "incomplete")

_NO_STORE = refused(
    "hegui keeps no stored responses, conversations or prompts to continue from: send the whole input"
)
_UNINSPECTABLE = refused("this content cannot be inspected (hegui has no image, audio or file check)")
_HOSTED_TOOL = refused(
    "hosted tools (search, computer use, code, MCP, shell, image generation …) are not translated to the "
    "chat upstream: only function tools"
)
_OTHER_ITEM = refused(
    "unknown or unsupported input item type: only messages, function_call, function_call_output and "
    "reasoning items are inspected and translated"
)

# -- request ----------------------------------------------------------------------------------------

INPUT_PART = Tagged(
    "type",
    {
        "input_text": obj(type=enum("input_text"), text=TEXT, prompt_cache_breakpoint=FREE),
        "output_text": obj(type=enum("output_text"), text=TEXT, annotations=FREE, logprobs=FREE, id=WHOLE),
        "refusal": obj(type=enum("refusal"), refusal=TEXT),
        "input_image": refused(
            "an image part is read only with [media] image_parts = 'ocr' (its text is then inspected), or "
            "passed unread and marked with 'pass_with_label'; otherwise it cannot be inspected"
        ),
        "input_file": _UNINSPECTABLE,
        "input_audio": _UNINSPECTABLE,
    },
    default=refused("unknown content part type: only text parts can be inspected"),
)
#: A tool's output: images in it are refused whatever [media] says (only a message's are read).
TOOL_OUTPUT_PART = Tagged(
    "type", dict(INPUT_PART.variants) | {"input_image": _UNINSPECTABLE}, default=INPUT_PART.default
)
MESSAGE_ITEM = obj(
    type=enum("message"),
    role=enum("user", "assistant", "system", "developer"),
    content=Either(str_=TEXT, list_=Arr(INPUT_PART)),
    id=WHOLE,
    status=STATUS,
    phase=enum("commentary", "final_answer"),
)
FUNCTION_CALL_ITEM = obj(
    type=enum("function_call"),
    call_id=WHOLE,
    name=TEXT,
    namespace=TEXT,
    arguments=TEXT,
    id=WHOLE,
    status=STATUS,
    caller=FREE,
)
FUNCTION_OUTPUT_ITEM = obj(
    type=enum("function_call_output"),
    call_id=WHOLE,
    output=Either(str_=TEXT, list_=Arr(TOOL_OUTPUT_PART)),
    id=WHOLE,
    name=TEXT,
    namespace=TEXT,
    status=STATUS,
    caller=FREE,
)
REASONING_ITEM = obj(
    type=enum("reasoning"),
    id=WHOLE,
    summary=Arr(obj(type=enum("summary_text"), text=TEXT)),
    content=Arr(obj(type=enum("reasoning_text"), text=TEXT)),
    encrypted_content=refused(
        "encrypted reasoning cannot be inspected (and an OpenAI-compatible upstream cannot read it)"
    ),
    status=STATUS,
)
INPUT_ITEM = Tagged(
    "type",
    {
        "message": MESSAGE_ITEM,
        "function_call": FUNCTION_CALL_ITEM,
        "function_call_output": FUNCTION_OUTPUT_ITEM,
        "reasoning": REASONING_ITEM,
        "item_reference": _NO_STORE,
    },
    default=_OTHER_ITEM,
)
FUNCTION_TOOL = obj(
    type=enum("function"),
    name=TEXT,
    description=TEXT,
    parameters=SCHEMA,
    strict=NUM,
    allowed_callers=FREE,
    defer_loading=NUM,
    output_schema=SCHEMA,
)
TOOL = Tagged("type", {"function": FUNCTION_TOOL}, default=_HOSTED_TOOL)
TOOL_CHOICE = Either(
    str_=enum("none", "auto", "required"),
    obj=Tagged(
        "type",
        {"function": obj(type=enum("function"), name=TEXT)},
        default=refused("only function tool choices are translated"),
    ),
)
TEXT_FORMAT = Tagged(
    "type",
    {
        "text": obj(type=enum("text")),
        "json_object": obj(type=enum("json_object")),
        "json_schema": obj(type=enum("json_schema"), name=TEXT, description=TEXT, schema=SCHEMA, strict=NUM),
    },
    default=refused("only text, json_object and json_schema formats are translated"),
)

RESPONSES_REQUEST = obj(
    model=MODEL,
    input=Either(str_=TEXT, list_=Arr(INPUT_ITEM)),
    instructions=TEXT,
    tools=Arr(TOOL),
    tool_choice=TOOL_CHOICE,
    text=obj(format=TEXT_FORMAT, verbosity=enum("low", "medium", "high")),
    max_output_tokens=NUM,
    max_tool_calls=NUM,
    metadata=Map(TEXT, TEXT),
    parallel_tool_calls=NUM,
    temperature=NUM,
    top_p=NUM,
    top_logprobs=NUM,
    stream=NUM,
    stream_options=obj(include_obfuscation=NUM),
    store=NUM,
    user=WHOLE,
    safety_identifier=WHOLE,
    prompt_cache_key=WHOLE,
    prompt_cache_retention=enum("in_memory", "24h"),
    prompt_cache_options=FREE,
    service_tier=enum("auto", "default", "flex", "scale", "priority"),
    truncation=enum("auto", "disabled"),
    reasoning=FREE,
    include=Arr(WHOLE),
    background=NUM,
    background_options=FREE,
    previous_response_id=_NO_STORE,
    conversation=_NO_STORE,
    prompt=_NO_STORE,
    context_management=refused("server-side context management (compaction) is not translated"),
    moderation=FREE,
    access_programs=FREE,
    image=FREE,
)

# With [media] image_parts = "ocr" or "pass_with_label" a message's input_image parts are declared
# (media_inspect.responses_media_slots reads or marks them; to_chat sends them on as chat image_url parts).
_IMAGE_PART = obj(
    type=enum("input_image"),
    image_url=binary(
        "the image ([media] image_parts = 'ocr'): fetched, read by OCR, its text inspected, and sent on as "
        "the data: URL of the bytes read"
    ),
    detail=enum("auto", "low", "high"),
    file_id=refused("a stored file cannot be read: send the image as image_url"),
)
_UNREAD_IMAGE_PART = obj(
    type=enum("input_image"),
    image_url=binary(
        "the image ([media] image_parts = 'pass_with_label'): forwarded unread; the input audit entry and "
        "the answer's X-Hegui-Uninspected header name it"
    ),
    detail=enum("auto", "low", "high"),
    file_id=refused("a stored file cannot be forwarded: send the image as image_url"),
)


@functools.lru_cache(maxsize=4)
def responses_request(images: str) -> Spec:
    """The request's map under the [media] policy (``images``: its ``image_parts``): a message's
    input_image parts declared when they are read by OCR or passed unread with a mark; otherwise refused
    (RESPONSES_REQUEST). A tool's output (function_call_output) keeps refusing images."""
    if images not in ("ocr", "pass_with_label"):
        return RESPONSES_REQUEST
    variants = dict(INPUT_PART.variants)
    variants["input_image"] = _IMAGE_PART if images == "ocr" else _UNREAD_IMAGE_PART
    part = Tagged("type", variants, default=INPUT_PART.default)
    message = Obj(dict(MESSAGE_ITEM.fields) | {"content": Either(str_=TEXT, list_=Arr(part))})
    item = Tagged("type", dict(INPUT_ITEM.variants) | {"message": message}, default=INPUT_ITEM.default)
    return Obj(dict(RESPONSES_REQUEST.fields) | {"input": Either(str_=TEXT, list_=Arr(item))})


# -- answer (what hegui writes, from the inspected chat answer) ---------------------------------------

_NOT_WRITTEN = refused("never written by hegui: the answer is built from the inspected chat answer")
OUTPUT_TEXT = obj(
    type=enum("output_text"), text=TEXT, annotations=Arr(_NOT_WRITTEN), logprobs=Arr(_NOT_WRITTEN)
)
OUTPUT_PART = Tagged(
    "type",
    {"output_text": OUTPUT_TEXT, "refusal": obj(type=enum("refusal"), refusal=TEXT)},
    default=_NOT_WRITTEN,
)
OUTPUT_ITEM = Tagged(
    "type",
    {
        "message": obj(
            type=enum("message"),
            id=WHOLE,
            role=enum("assistant"),
            status=STATUS,
            phase=enum("commentary", "final_answer"),
            content=Arr(OUTPUT_PART),
        ),
        "function_call": obj(
            type=enum("function_call"),
            id=WHOLE,
            call_id=WHOLE,
            name=TEXT,
            namespace=_NOT_WRITTEN,
            arguments=TEXT,
            status=STATUS,
            caller=_NOT_WRITTEN,
        ),
        "reasoning": obj(
            type=enum("reasoning"),
            id=WHOLE,
            summary=Arr(obj(type=enum("summary_text"), text=TEXT)),
            content=Arr(obj(type=enum("reasoning_text"), text=TEXT)),
            encrypted_content=_NOT_WRITTEN,
            status=STATUS,
        ),
    },
    default=_NOT_WRITTEN,
)
_ECHOED = Leaf(WHOLE.kind, reason="the request's value, as inspected at input")
RESPONSES_ANSWER = obj(
    id=Leaf(WHOLE.kind, reason="hegui's response id"),
    object=enum("response"),
    created_at=NUM,
    completed_at=NUM,
    model=MODEL,
    status=enum("completed", "failed", "in_progress", "cancelled", "queued", "incomplete"),
    output=Arr(OUTPUT_ITEM),
    usage=Counts(),
    error=obj(code=WHOLE, message=TEXT, param=WHOLE, type=WHOLE, misalignment=_NOT_WRITTEN),
    incomplete_details=obj(reason=enum("max_output_tokens", "content_filter")),
    instructions=_NOT_WRITTEN,
    metadata=Map(TEXT, TEXT),
    parallel_tool_calls=NUM,
    temperature=NUM,
    top_p=NUM,
    tool_choice=Either(str_=enum("auto"), obj=_NOT_WRITTEN),
    tools=Arr(_NOT_WRITTEN),
    text=_NOT_WRITTEN,
    reasoning=_NOT_WRITTEN,
    user=_ECHOED,
    AIGC=FREE,
    **dict.fromkeys(
        (
            "background",
            "background_options",
            "billing",
            "context_management",
            "conversation",
            "max_output_tokens",
            "max_tool_calls",
            "moderation",
            "previous_response_id",
            "prompt",
            "prompt_cache_key",
            "prompt_cache_options",
            "prompt_cache_retention",
            "safety_identifier",
            "service_tier",
            "store",
            "top_logprobs",
            "truncation",
            "access_programs",
            "image",
            "input_transformations",
        ),
        _NOT_WRITTEN,
    ),
)


def _event(**fields: Spec) -> Spec:
    return obj(type=WHOLE, sequence_number=NUM, output_index=NUM, content_index=NUM, **fields)


#: The stream's events hegui writes (responses_api.py); others are never written.
RESPONSES_EVENT = Tagged(
    "type",
    {
        **{
            t: _event(response=RESPONSES_ANSWER)
            for t in (
                "response.created",
                "response.in_progress",
                "response.completed",
                "response.incomplete",
                "response.failed",
            )
        },
        **{t: _event(item=OUTPUT_ITEM) for t in ("response.output_item.added", "response.output_item.done")},
        **{
            t: _event(item_id=WHOLE, part=OUTPUT_PART)
            for t in ("response.content_part.added", "response.content_part.done")
        },
        "response.output_text.delta": _event(
            item_id=WHOLE, delta=TEXT, logprobs=Arr(_NOT_WRITTEN), obfuscation=_NOT_WRITTEN
        ),
        "response.output_text.done": _event(item_id=WHOLE, text=TEXT, logprobs=Arr(_NOT_WRITTEN)),
        "response.refusal.delta": _event(item_id=WHOLE, delta=TEXT),
        "response.refusal.done": _event(item_id=WHOLE, refusal=TEXT),
        "response.function_call_arguments.delta": _event(item_id=WHOLE, delta=TEXT, obfuscation=_NOT_WRITTEN),
        "response.function_call_arguments.done": _event(item_id=WHOLE, arguments=TEXT, name=TEXT),
        "response.reasoning_text.delta": _event(item_id=WHOLE, delta=TEXT),
        "response.reasoning_text.done": _event(item_id=WHOLE, text=TEXT),
        "error": obj(type=enum("error"), sequence_number=NUM, code=WHOLE, message=TEXT, param=WHOLE),
    },
    default=_NOT_WRITTEN,
)
