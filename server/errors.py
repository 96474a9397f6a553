"""Typed errors and the one place that renders them as OpenAI error envelopes."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

logger = logging.getLogger("lethe.errors")


class LetheError(Exception):
    """An error with a defined HTTP status and OpenAI error ``type``/``code``."""

    status_code = 500
    error_type = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        message = _printable(message)
        param = _printable(param) if param is not None else None
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.message, self.error_type, self.param, self.code)


class InvalidRequestError(LetheError):
    status_code = 400
    error_type = "invalid_request_error"


class AuthenticationError(LetheError):
    status_code = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class PermissionDeniedError(LetheError):
    status_code = 403
    error_type = "invalid_request_error"
    code = "permission_denied"


class ConflictError(LetheError):
    """The resource exists with other content (e.g. a target id: replace it with PUT)."""

    status_code = 409
    error_type = "invalid_request_error"
    code = "conflict"


class NotFoundError(LetheError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class ModelNotFoundError(NotFoundError):
    code = "model_not_found"


class MethodNotAllowedError(LetheError):
    status_code = 405
    error_type = "invalid_request_error"
    code = "method_not_allowed"


class PayloadTooLargeError(LetheError):
    status_code = 413
    error_type = "invalid_request_error"
    code = "request_too_large"


class UnsupportedMediaTypeError(LetheError):
    status_code = 415
    error_type = "invalid_request_error"
    code = "unsupported_media_type"


class OverloadedError(LetheError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "server_overloaded"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class UpstreamError(LetheError):
    """The generator backend failed; the guardrail returns no text."""

    status_code = 502
    error_type = "upstream_error"
    code = "upstream_error"


class UpstreamTimeoutError(UpstreamError):
    status_code = 504
    code = "upstream_timeout"


class RequestTimeoutError(LetheError):
    """The request's whole deadline (``server.request_timeout_seconds``) passed."""

    status_code = 504
    error_type = "timeout_error"
    code = "request_timeout"


class ServiceUnavailableError(LetheError):
    status_code = 503
    error_type = "server_error"
    code = "service_unavailable"


class ReloadFailedError(LetheError):
    """A hot reload did not validate; the server still runs on its previous state."""

    status_code = 422
    error_type = "invalid_request_error"
    code = "reload_failed"


def _printable(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate from a request (JSON allows ``"\\ud800"``)
    echoed into an error would make the error itself unencodable."""
    return text.encode("utf-8", "replace").decode("utf-8")


def as_lethe_error(exc: BaseException) -> LetheError:
    """Any exception as the error the client sees: typed errors as they are, anything else
    as a bare 500 that says nothing about its cause (a message could quote content)."""
    if isinstance(exc, LetheError):
        return exc
    return LetheError("The server had an internal error.")


def error_envelope(
    message: str, error_type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_response(exc: LetheError) -> Response:
    return JSONResponse(exc.envelope(), status_code=exc.status_code, headers=exc.headers)


def validation_error(errors: Sequence[Any]) -> InvalidRequestError:
    """Turn pydantic/FastAPI validation errors into one readable 400."""
    if not errors:
        return InvalidRequestError("Invalid request body.")
    first = errors[0]
    if first.get("type") == "json_invalid":
        return InvalidRequestError(
            "We could not parse the JSON body of your request: "
            f"{first.get('ctx', {}).get('error', 'invalid JSON')}.",
            code="invalid_json",
        )
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body",)]
    param = ".".join(loc) or None
    message = str(first.get("msg", "invalid value"))
    if param is None and first.get("type") == "missing":
        message = "The request body is missing: send a JSON object."
    if param:
        message = f"{param}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    return InvalidRequestError(message, param=param, code="invalid_value")


_STATUS_ERRORS: dict[int, type[LetheError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
}


def install_error_handlers(app: FastAPI) -> None:
    async def on_lethe_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LetheError)
        if exc.status_code >= 500:
            logger.warning("request failed: %s %s", type(exc).__name__, exc.message)
        return error_response(exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(exc.errors()))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error_cls = _STATUS_ERRORS.get(exc.status_code, LetheError)
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        code = None
        if exc.status_code == 404:
            detail = f"Unknown path: {request.url.path}"
        elif exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI could not decode the body: not UTF-8, or nested past the parser's limit.
            detail = (
                "We could not parse the JSON body of your request (invalid encoding or nesting)."
            )
            code = "invalid_json"
        return error_response(error_cls(detail, code=code, headers=dict(exc.headers or {})))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Log the traceback for operators; the client only learns that it failed.
        logger.exception("unhandled error on %s", request.url.path)
        return error_response(as_lethe_error(exc))

    app.add_exception_handler(LetheError, on_lethe_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
