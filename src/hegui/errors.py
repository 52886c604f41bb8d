"""Every error hegui raises on purpose, with its HTTP status and its CLI exit code.

    HeguiError                      500 / exit 1
    ├── ConfigError                 invalid settings or policy file; names the key and the file (exit 2)
    │   └── PolicyNotReloaded       409  a hot reload refused the new policy file; the running one stays
    ├── RequestError                400  the client sent something we cannot serve
    │   ├── PayloadTooLarge         413
    │   ├── UnknownModel            404  no upstream serves that model
    │   ├── UnsupportedMediaType    415
    │   ├── ContentRefused          400  an input that cannot be answered with a refusal text (embeddings)
    │   └── RecordNotFound          404  no such agreement, request, user or export
    ├── AuthenticationError         401  missing or wrong API key
    │   └── PermissionDenied        403  the key's role may not do this
    │       ├── UserSuspended       403  the end user is suspended or terminated (sanction ladder)
    │       └── NotAccepted         403  the end user has not accepted the agreement / is not verified
    ├── RateLimited                 429  a key, tenant or end user is over its quota; says when to retry
    ├── UpstreamError               502  the model server failed or answered badly
    │   ├── UpstreamUnavailable     502  connection refused, or the circuit breaker is open
    │   ├── UpstreamRejected        the upstream's own 4xx, passed on with its status
    │   ├── UpstreamMalformed       502  an answer or chunk not of the shape its API gives
    │   ├── UpstreamIncomplete      502  a stream that closed without its end (``[DONE]``)
    │   ├── MediaFetchRefused       502  an image URL in an answer the fetch policy does not allow
    │   └── UpstreamTimeout         504  no answer within the configured timeout
    ├── CheckFailed                 500  a check raised; the request is refused, never passed unchecked
    ├── StorageError                503  the database could not record a decision; nothing is sent
    │   ├── DatabaseInUse           exit 2  another `hegui serve` holds this SQLite file's writer lock
    │   └── ContentErased           410  the end user's data key was deleted (crypto-shredding)
    └── AuditChainBroken            exit 1  `hegui audit verify` found tampering; ``kind`` names which

The mapping to OpenAI-shaped error bodies (``{"error": {"message", "type", "param", "code"}}``) and to
exit codes happens at the boundary (gateway, CLI) through the attributes on each class; nothing else
in the package turns an error into a status code.
"""

from __future__ import annotations

from typing import Any, ClassVar


class HeguiError(Exception):
    """Base of every deliberate hegui error."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    error_type: ClassVar[str] = "server_error"
    code: ClassVar[str | None] = None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def status(self) -> int:
        """The HTTP status this error is answered with."""
        return self.http_status

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI-shaped error body."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class ConfigError(HeguiError):
    """The settings or the policy file are invalid. The message names the file and the key."""

    exit_code = 2
    code = "invalid_configuration"

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        where = ", ".join(part for part in (file and f"file {file}", key and f"key {key!r}") if part)
        super().__init__(f"{where}: {message}" if where else message, param=key)
        self.file = file
        self.key = key


class PolicyNotReloaded(ConfigError):
    """A running gateway was asked to reload its policy and the file cannot replace the running one (it
    fails to load or build, or it changes a section that needs a restart). The running policy stays."""

    http_status = 409
    error_type = "invalid_request_error"
    code = "policy_not_reloaded"

    def __init__(self, message: str, *, key: str | None = None) -> None:
        # The message already names the file and the key (the refusal's own ConfigError's words).
        HeguiError.__init__(self, message, param=key)
        self.file = None
        self.key = key


class RequestError(HeguiError):
    http_status = 400
    exit_code = 2
    error_type = "invalid_request_error"
    code = "invalid_request"


class PayloadTooLarge(RequestError):
    http_status = 413
    code = "request_too_large"


class UnknownModel(RequestError):
    http_status = 404
    code = "model_not_found"


class UnsupportedMediaType(RequestError):
    http_status = 415
    code = "unsupported_media_type"


class ContentRefused(RequestError):
    code = "content_filter"


class RecordNotFound(RequestError):
    http_status = 404
    exit_code = 1
    code = "not_found"


class AuthenticationError(HeguiError):
    http_status = 401
    exit_code = 2
    error_type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(AuthenticationError):
    http_status = 403
    error_type = "permission_error"
    code = "insufficient_permissions"


class UserSuspended(PermissionDenied):
    code = "user_suspended"


class NotAccepted(PermissionDenied):
    code = "agreement_required"


class RateLimited(HeguiError):
    """Over a ``[limits]`` quota. ``kind`` is OpenAI's error type for it (requests or tokens), and
    ``retry_after`` the whole seconds after which the request would fit (the Retry-After header)."""

    http_status = 429
    error_type = "requests"
    code = "rate_limit_exceeded"

    def __init__(
        self, message: str, *, kind: str, retry_after: int, scope: str = "", limit: str = ""
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        #: Whose quota (key, tenant, user) and which limit (requests, tokens, streams): for metrics.
        self.scope = scope
        self.limit = limit

    def to_openai(self) -> dict[str, Any]:
        body = super().to_openai()
        body["error"]["type"] = self.kind
        return body


class UpstreamError(HeguiError):
    http_status = 502
    error_type = "upstream_error"
    code = "upstream_error"


class UpstreamUnavailable(UpstreamError):
    code = "upstream_unavailable"


class UpstreamRejected(UpstreamError):
    """The upstream answered 4xx (a bad parameter, say): the client gets that status and message."""

    error_type = "invalid_request_error"
    code = "upstream_rejected"

    def __init__(self, message: str, *, upstream_status: int) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status

    def status(self) -> int:
        return self.upstream_status


class UpstreamMalformed(UpstreamError):
    """A 200 whose body or chunk is not of the shape the API gives (HTML, invalid JSON, ``{"choices": 5}``,
    a whole answer where a stream was asked): nothing of it is released."""

    code = "upstream_malformed"


class UpstreamIncomplete(UpstreamError):
    """A stream that ended without ``data: [DONE]``: what arrived may be a truncated answer."""

    code = "upstream_incomplete"


class MediaFetchRefused(UpstreamError):
    """An image URL in an upstream's answer that the media fetch policy does not allow (address, size,
    scheme, redirects)."""

    code = "media_fetch_refused"


class UpstreamTimeout(UpstreamError):
    http_status = 504
    code = "upstream_timeout"


class CheckFailed(HeguiError):
    """A check raised. The pipeline refuses instead of letting the text through unchecked."""

    code = "check_failed"


class StorageError(HeguiError):
    http_status = 503
    code = "storage_unavailable"


class DatabaseInUse(StorageError):
    """Another process already serves from this SQLite file (SQLite takes one writer process)."""

    exit_code = 2
    code = "database_in_use"


class ContentErased(StorageError):
    """The stored content can no longer be decrypted: its owner's data key was deleted on purpose."""

    http_status = 410
    code = "content_erased"


class AuditChainBroken(HeguiError):
    """Raised by the verifier with the sequence number of the first entry that does not verify, and the
    kind of tampering (`hegui.records.audit_verify.TamperKind`: rewritten, truncated, deleted, …)."""

    code = "audit_chain_broken"

    def __init__(self, message: str, *, seq: int | None, kind: str = "entry-changed") -> None:
        super().__init__(message)
        self.seq = seq
        self.kind = kind
