"""The field map: every field of the request and of the answer of each exposed endpoint, declared.

docs/gateway.md shows these maps as tables; tests/gateway/test_fieldmap_sdk.py walks the official
`openai` package's types for these endpoints and fails when one of their string fields is not declared
here. Read fields.py for what each kind means.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from hegui.gateway.fields import (
    MODEL,
    NUM,
    TEXT,
    WHOLE,
    Arr,
    Counts,
    Either,
    Kind,
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
    tokens,
)

TOKEN_ID = Leaf(Kind.TOKEN_ID)
LOGPROBS = tokens("token-level echo of the generated text: dropped, or released with released text")
TOKEN_ARRAY = refused(
    "token ids cannot be inspected: hegui does not hold the upstream model's tokenizer, and decoding "
    "with another one would inspect a different text from the one the model reads"
)
SCHEMA = Tree("a JSON schema: descriptions, titles, enum values and property names reach the model")
FREE = Tree("free-form: every string in it is inspected")

# -- requests ---------------------------------------------------------------------------------------

_TEXT_PART = obj(type=enum("text"), text=TEXT)
_REFUSAL_PART = obj(type=enum("refusal"), refusal=TEXT)
_UNINSPECTABLE_PART = refused(
    "this content part cannot be inspected (hegui has no image, audio or file check)"
)
CONTENT_PART = Tagged(
    "type",
    {
        "text": _TEXT_PART,
        "refusal": _REFUSAL_PART,
        "image_url": refused(
            "an image part is read only with [media] image_parts = 'ocr' (its text is then inspected), or "
            "passed unread and marked with 'pass_with_label'; otherwise it cannot be inspected"
        ),
        "input_audio": refused(
            "an audio part is read only with [media] audio_parts = 'transcribe' (the operator's own speech "
            "recognizer; none ships with hegui); otherwise it cannot be inspected"
        ),
        "file": _UNINSPECTABLE_PART,
    },
    default=refused("unknown content part type: only text parts can be inspected"),
)
CONTENT = Either(str_=TEXT, list_=Arr(CONTENT_PART))
FUNCTION_CALL = obj(name=TEXT, arguments=TEXT)
TOOL_CALL = Tagged(
    "type",
    {
        "function": obj(id=WHOLE, type=enum("function"), function=FUNCTION_CALL),
        "custom": obj(id=WHOLE, type=enum("custom"), custom=obj(name=TEXT, input=TEXT)),
    },
)
MESSAGE = obj(
    role=enum("system", "developer", "user", "assistant", "tool", "function"),
    content=CONTENT,
    name=TEXT,
    refusal=TEXT,
    tool_calls=Arr(TOOL_CALL),
    function_call=FUNCTION_CALL,
    tool_call_id=WHOLE,
    audio=obj(id=WHOLE),
)
FUNCTION_DEF = obj(name=TEXT, description=TEXT, parameters=SCHEMA, strict=NUM)
TOOL = Tagged(
    "type",
    {
        "function": obj(type=enum("function"), function=FUNCTION_DEF),
        "custom": obj(type=enum("custom"), custom=obj(name=TEXT, description=TEXT, format=FREE)),
    },
)
TOOL_CHOICE = Either(
    str_=enum("none", "auto", "required"),
    obj=Tagged(
        "type",
        {
            "function": obj(type=enum("function"), function=obj(name=TEXT)),
            "custom": obj(type=enum("custom"), custom=obj(name=TEXT)),
            "allowed_tools": obj(
                type=enum("allowed_tools"), allowed_tools=obj(mode=enum("auto", "required"), tools=FREE)
            ),
        },
    ),
)
RESPONSE_FORMAT = Tagged(
    "type",
    {
        "text": obj(type=enum("text")),
        "json_object": obj(type=enum("json_object")),
        "json_schema": obj(
            type=enum("json_schema"),
            json_schema=obj(name=TEXT, description=TEXT, schema=SCHEMA, strict=NUM),
        ),
    },
)
STOP = Either(str_=TEXT, list_=Arr(TEXT))
STREAM_OPTIONS = obj(include_usage=NUM, include_obfuscation=NUM)
PROMPT = Either(str_=TEXT, list_=Arr(Either(str_=TEXT, num=TOKEN_ARRAY, list_=TOKEN_ARRAY)))

CHAT_REQUEST = obj(
    model=MODEL,
    messages=Arr(MESSAGE),
    audio=obj(
        format=enum("wav", "aac", "mp3", "flac", "opus", "pcm16"),
        voice=Either(str_=WHOLE, obj=obj(id=WHOLE)),
    ),
    frequency_penalty=NUM,
    function_call=Either(str_=enum("none", "auto"), obj=obj(name=TEXT)),
    functions=Arr(FUNCTION_DEF),
    logit_bias=Map(TOKEN_ID, NUM),
    logprobs=NUM,
    max_completion_tokens=NUM,
    max_tokens=NUM,
    metadata=Map(TEXT, TEXT),
    modalities=Arr(enum("text", "audio")),
    moderation=FREE,
    n=NUM,
    parallel_tool_calls=NUM,
    prediction=obj(type=enum("content"), content=CONTENT),
    presence_penalty=NUM,
    prompt_cache_key=WHOLE,
    prompt_cache_options=FREE,
    prompt_cache_retention=enum("in_memory", "24h"),
    reasoning_effort=enum("none", "minimal", "low", "medium", "high", "xhigh"),
    response_format=RESPONSE_FORMAT,
    safety_identifier=WHOLE,
    seed=NUM,
    service_tier=enum("auto", "default", "flex", "scale", "priority"),
    stop=STOP,
    store=NUM,
    stream=NUM,
    stream_options=STREAM_OPTIONS,
    temperature=NUM,
    tool_choice=TOOL_CHOICE,
    tools=Arr(TOOL),
    top_logprobs=NUM,
    top_p=NUM,
    user=WHOLE,
    verbosity=enum("low", "medium", "high"),
    web_search_options=obj(
        search_context_size=enum("low", "medium", "high"),
        user_location=obj(
            type=enum("approximate"),
            approximate=obj(city=TEXT, country=TEXT, region=TEXT, timezone=TEXT),
        ),
    ),
)

# With [media] image_parts = "ocr" the chat request's image_url parts are read (media_inspect.py): the
# part is declared, its URL is binary (the image's text is inspected as its own slot).
_IMAGE_PART = obj(
    type=enum("image_url"),
    image_url=obj(
        url=binary(
            "the image ([media] image_parts = 'ocr'): fetched, read by OCR, its text inspected, and sent "
            "on as the data: URL of the bytes read"
        ),
        detail=enum("auto", "low", "high"),
    ),
)
# With [media] image_parts = "pass_with_label" the part is declared and forwarded as sent, unread; the
# route names it in the input audit entry and in the answer's X-Hegui-Uninspected header.
_UNREAD_IMAGE_PART = obj(
    type=enum("image_url"),
    image_url=obj(
        url=binary(
            "the image ([media] image_parts = 'pass_with_label'): forwarded unread; the input audit entry "
            "and the answer's X-Hegui-Uninspected header name it"
        ),
        detail=enum("auto", "low", "high"),
    ),
)
_AUDIO_PART = obj(
    type=enum("input_audio"),
    input_audio=obj(
        data=binary(
            "speech ([media] audio_parts = 'transcribe'): transcribed by the operator's ASR server, the "
            "transcript inspected"
        ),
        format=enum("wav", "mp3"),
    ),
)


@functools.lru_cache(maxsize=8)
def chat_request(images: str, audio: bool) -> Spec:
    """The chat request's map under the [media] policy (``images``: its ``image_parts``): image parts
    declared when they are read by OCR or passed unread with a mark, audio parts when they are
    transcribed; otherwise both are refused (CHAT_REQUEST)."""
    if images == "refuse" and not audio:
        return CHAT_REQUEST
    variants = dict(CONTENT_PART.variants)
    if images == "ocr":
        variants["image_url"] = _IMAGE_PART
    elif images == "pass_with_label":
        variants["image_url"] = _UNREAD_IMAGE_PART
    if audio:
        variants["input_audio"] = _AUDIO_PART
    part = Tagged("type", variants, default=CONTENT_PART.default)
    message = Obj(dict(MESSAGE.fields) | {"content": Either(str_=TEXT, list_=Arr(part))})
    return Obj(dict(CHAT_REQUEST.fields) | {"messages": Arr(message)})


COMPLETION_REQUEST = obj(
    model=MODEL,
    prompt=PROMPT,
    best_of=NUM,
    echo=NUM,
    frequency_penalty=NUM,
    logit_bias=Map(TOKEN_ID, NUM),
    logprobs=NUM,
    max_tokens=NUM,
    n=NUM,
    presence_penalty=NUM,
    seed=NUM,
    stop=STOP,
    stream=NUM,
    stream_options=STREAM_OPTIONS,
    suffix=TEXT,
    temperature=NUM,
    top_p=NUM,
    user=WHOLE,
)

EMBEDDING_REQUEST = obj(
    model=MODEL,
    input=PROMPT,
    dimensions=NUM,
    encoding_format=enum("float", "base64"),
    user=WHOLE,
)

IMAGE_REQUEST = obj(
    model=MODEL,
    prompt=TEXT,
    background=enum("transparent", "opaque", "auto"),
    complexity=enum("low", "medium", "high"),
    frame_count=NUM,
    frame_duration_ms=NUM,
    moderation=enum("low", "auto"),
    n=NUM,
    output_compression=NUM,
    output_format=enum("png", "jpeg", "webp", "svg", "gif"),
    partial_images=NUM,
    quality=enum("standard", "hd", "low", "medium", "high", "auto"),
    response_format=enum("url", "b64_json"),
    safety_identifier=WHOLE,
    size=enum("auto", "1024x1024", "1536x1024", "1024x1536", "256x256", "512x512", "1792x1024", "1024x1792"),
    style=enum("vivid", "natural"),
    svg=FREE,
    user=WHOLE,
    stream=NUM,
)

_EDIT_IMAGE = binary(
    "an image file of the multipart request: read by OCR and inspected when [media] image_parts = 'ocr', "
    "else forwarded unread"
)
#: /v1/images/edits: a multipart form, so every value is a string (numbers and enumerations included);
#: the files (image, image[], mask, markup) are not text fields and are described here for the docs.
IMAGE_EDIT_REQUEST = obj(
    model=MODEL,
    prompt=TEXT,
    image=_EDIT_IMAGE,
    mask=_EDIT_IMAGE,
    markup=_EDIT_IMAGE,
    background=enum("transparent", "opaque", "auto"),
    complexity=enum("low", "medium", "high"),
    frame_count=NUM,
    frame_duration_ms=NUM,
    input_fidelity=enum("high", "low"),
    n=NUM,
    output_compression=NUM,
    output_format=enum("png", "jpeg", "webp", "svg", "gif"),
    partial_images=NUM,
    quality=enum("standard", "low", "medium", "high", "xhigh", "max", "auto"),
    response_format=enum("url", "b64_json"),
    safety_identifier=WHOLE,
    size=enum("auto", "1024x1024", "1536x1024", "1024x1536", "256x256", "512x512"),
    stream=NUM,
    svg=FREE,
    user=WHOLE,
)
IMAGE_VARIATION_REQUEST = obj(
    model=MODEL,
    image=_EDIT_IMAGE,
    n=NUM,
    response_format=enum("url", "b64_json"),
    size=enum("256x256", "512x512", "1024x1024"),
    user=WHOLE,
)

# -- answers ----------------------------------------------------------------------------------------

USAGE = Counts()
AUDIO_OUT = obj(
    id=WHOLE,
    data=binary(
        "speech: in whole answers released only with its transcript released unchanged (speech cannot "
        "be masked); dropped from streams while output checks are active"
    ),
    expires_at=NUM,
    transcript=TEXT,
)
ANNOTATION = obj(
    type=enum("url_citation"),
    url_citation=obj(start_index=NUM, end_index=NUM, title=TEXT, url=TEXT),
)
ANSWER_TOOL_CALL = Tagged(
    "type",
    {
        "function": obj(id=WHOLE, type=enum("function"), function=FUNCTION_CALL),
        "custom": obj(id=WHOLE, type=enum("custom"), custom=obj(name=TEXT, input=TEXT)),
    },
)
ANSWER_MESSAGE = obj(
    role=enum("assistant"),
    content=TEXT,
    refusal=TEXT,
    reasoning_content=TEXT,
    annotations=Arr(ANNOTATION),
    audio=AUDIO_OUT,
    function_call=FUNCTION_CALL,
    tool_calls=Arr(ANSWER_TOOL_CALL),
)
FINISH = enum("stop", "length", "tool_calls", "content_filter", "function_call")
ANSWER_TOP: dict[str, Spec] = {
    "id": Leaf(Kind.WHOLE, reason="replaced by hegui's response id"),
    "object": enum("chat.completion", "chat.completion.chunk", "text_completion"),
    "created": NUM,
    "model": MODEL,
    "service_tier": enum("auto", "default", "flex", "scale", "priority"),
    "system_fingerprint": WHOLE,
    "usage": USAGE,
    "moderation": FREE,
    "metadata": Map(TEXT, TEXT),
}

CHAT_ANSWER = obj(
    **ANSWER_TOP,
    choices=Arr(
        obj(index=NUM, finish_reason=FINISH, logprobs=LOGPROBS, message=ANSWER_MESSAGE), index_key="index"
    ),
)
DELTA = obj(
    role=enum("developer", "system", "user", "assistant", "tool"),
    content=TEXT,
    refusal=TEXT,
    reasoning_content=TEXT,
    audio=AUDIO_OUT,
    function_call=FUNCTION_CALL,
    tool_calls=Arr(
        obj(index=NUM, id=WHOLE, type=enum("function"), function=FUNCTION_CALL), index_key="index"
    ),
)
CHAT_CHUNK = obj(
    **ANSWER_TOP,
    obfuscation=binary("random padding against length side channels: carries no text; dropped"),
    choices=Arr(obj(index=NUM, finish_reason=FINISH, logprobs=LOGPROBS, delta=DELTA), index_key="index"),
)
COMPLETION_ANSWER = obj(
    **ANSWER_TOP,
    choices=Arr(
        obj(index=NUM, finish_reason=enum("stop", "length", "content_filter"), logprobs=LOGPROBS, text=TEXT),
        index_key="index",
    ),
)
EMBEDDING_ANSWER = obj(
    object=enum("list"),
    model=MODEL,
    usage=USAGE,
    data=Arr(
        obj(
            object=enum("embedding"),
            index=NUM,
            embedding=Either(
                list_=Arr(NUM), str_=binary("a base64 vector (encoding_format=base64): numbers, not text")
            ),
        )
    ),
)
IMAGE_ANSWER = obj(
    created=NUM,
    background=enum("transparent", "opaque"),
    output_format=enum("png", "jpeg", "webp", "svg", "gif"),
    quality=enum("low", "medium", "high"),
    size=enum("1024x1024", "1024x1536", "1536x1024"),
    usage=USAGE,
    svg_usage=USAGE,
    safety_identifier=WHOLE,
    data=Arr(
        obj(
            b64_json=binary(
                "the image: returned labelled (visible plate + XMP); its text read by OCR and inspected "
                "when [media] generated_image_ocr = true"
            ),
            url=binary(
                "the image's address: downloaded under the media fetch policy, labelled, returned as b64_json"
            ),
            revised_prompt=TEXT,
        )
    ),
)


@dataclass(frozen=True, slots=True)
class EndpointMap:
    """The maps of one endpoint: its request, its whole answer and, if it streams, its chunks."""

    name: str
    path: str
    request: Spec
    answer: Spec
    chunk: Spec | None = None


CHAT = EndpointMap("chat.completions", "/v1/chat/completions", CHAT_REQUEST, CHAT_ANSWER, CHAT_CHUNK)
COMPLETIONS = EndpointMap(
    "completions", "/v1/completions", COMPLETION_REQUEST, COMPLETION_ANSWER, COMPLETION_ANSWER
)
EMBEDDINGS = EndpointMap("embeddings", "/v1/embeddings", EMBEDDING_REQUEST, EMBEDDING_ANSWER)
IMAGES = EndpointMap("images.generations", "/v1/images/generations", IMAGE_REQUEST, IMAGE_ANSWER)
IMAGE_EDITS = EndpointMap("images.edits", "/v1/images/edits", IMAGE_EDIT_REQUEST, IMAGE_ANSWER)
IMAGE_VARIATIONS = EndpointMap(
    "images.variations", "/v1/images/variations", IMAGE_VARIATION_REQUEST, IMAGE_ANSWER
)

# The two surfaces answered by translation to the chat path (their maps are in their own modules).
from hegui.gateway.messages_map import MESSAGE_ANSWER, MESSAGES_EVENT, MESSAGES_REQUEST  # noqa: E402
from hegui.gateway.responses_map import RESPONSES_ANSWER, RESPONSES_EVENT, RESPONSES_REQUEST  # noqa: E402

RESPONSES = EndpointMap("responses", "/v1/responses", RESPONSES_REQUEST, RESPONSES_ANSWER, RESPONSES_EVENT)
MESSAGES = EndpointMap("messages", "/v1/messages", MESSAGES_REQUEST, MESSAGE_ANSWER, MESSAGES_EVENT)
ENDPOINTS = (CHAT, COMPLETIONS, EMBEDDINGS, IMAGES, IMAGE_EDITS, IMAGE_VARIATIONS, RESPONSES, MESSAGES)
