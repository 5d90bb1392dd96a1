"""Who may call the API doors (REST, OpenAI-compatible chat, MCP over HTTP), and how a door's endpoint
turns failures into its protocol's errors: :class:`Access`, :func:`guard`, :func:`http_status`.

A request from another site's page (its ``Origin`` is not this server) is refused whatever it carries,
and an open server answers only to this machine's own names (no DNS rebinding). A call is let in by an API key (``Authorization: Bearer <key>``, assistant/service/keys.py) or by HTTP
Basic credentials of one of the chat's accounts (assistant/web/auth.py). The doors are open without
either only on loopback, when the server has no account and no keys file (``assistant keys create`` makes
it; revoking every key leaves it, so the doors stay closed); beyond loopback the server has
accounts (``login_for`` refuses to start otherwise), so every call needs one of them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from assistant.errors import (
    ArticleNotFoundError,
    AssistantError,
    CollectionNotFoundError,
    IndexLockedError,
    StorageFullError,
    StoreUnavailableError,
)
from assistant.service.keys import ApiKeys
from assistant.service.service import CollectionService
from assistant.web.auth import is_loopback

__all__ = ["Access", "Refused", "ErrorBody", "guard", "read_body", "http_status", "UNAUTHORIZED", "INTERNAL",
           "CHALLENGE"]

log = logging.getLogger(__name__)

CHALLENGE = 'Basic realm="cited-assistant", Bearer realm="cited-assistant"'
UNAUTHORIZED = ("this server needs a key or a login: send 'Authorization: Bearer <key>' (`assistant keys create "
                "NAME`) or HTTP Basic credentials of one of its accounts")
INTERNAL = "the server could not answer this request; see its log"

# (status, error type, message, the request field at fault or None) -> the door's response
ErrorBody = Callable[[int, str, str, str | None], Response]
Body = TypeVar("Body", bound=BaseModel)


class Refused(Exception):
    """A request a door refuses on its own terms (too large, malformed, writes off): status, type, and
    the request field at fault when there is one."""

    def __init__(self, status: int, kind: str, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.param = status, kind, param


async def read_body(request: Request, model: type[Body], limit: int) -> Body:
    """The request's JSON body as ``model``: 413 over ``limit`` bytes, 400 naming the field at fault."""
    body = await request.body()
    if len(body) > limit:
        raise Refused(413, "TooLarge", f"the request is {len(body)} bytes; it may hold {limit}")
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as e:
        errors = e.errors()
        detail = "; ".join(f"{'.'.join(str(x) for x in err['loc']) or 'body'}: {err['msg']}" for err in errors)
        raise Refused(400, "InvalidRequest", detail, ".".join(str(x) for x in errors[0]["loc"]) or None) from e


def http_status(e: AssistantError) -> int:
    """The HTTP status of one of our errors, the same at every door."""
    if isinstance(e, (ArticleNotFoundError, CollectionNotFoundError)):
        return 404
    if isinstance(e, IndexLockedError):
        return 409
    if isinstance(e, StorageFullError):
        return 507
    if isinstance(e, StoreUnavailableError):
        return 503
    return 400


class Access:
    """The credentials the doors accept: the chat's accounts and the API keys."""

    def __init__(self, accounts: list[tuple[str, str]], keys: ApiKeys, *, loopback: bool):
        self.accounts = list(accounts)
        self.keys = keys
        self.loopback = loopback

    def required(self) -> bool:
        """False only on loopback with no account and no keys file (a key created later closes the doors)."""
        return bool(self.accounts) or not self.loopback or self.keys.configured()

    def refusal(self, headers: Mapping[str, str]) -> tuple[int, str, str] | None:
        """Why a request with these headers is refused, as (status, type, message), or None. Checks, in
        order: a browser page of another site (an ``Origin`` that is not this server: no cross-site
        request, whatever the credentials), a name that is not this machine's on an open loopback server
        (DNS rebinding), then the credentials. Reads the keys file: call it off the event
        loop."""
        host = headers.get("host", "")
        origin = headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc.lower() != host.lower():
            return 403, "Forbidden", "requests from another site's page are refused (its Origin is not this server)"
        if origin == "null":
            return 403, "Forbidden", "requests from a page without an origin are refused"
        if not self.required():
            name = urlsplit(f"//{host}").hostname or ""
            if not is_loopback(name):
                return 403, "Forbidden", "this open server answers only on this machine's own names (127.0.0.1, localhost)"
            return None
        if not self._credentials(headers.get("authorization")):
            return 401, "Unauthorized", UNAUTHORIZED
        return None

    def _credentials(self, authorization: str | None) -> bool:
        """Whether ``authorization`` holds a valid API key or an account's Basic login."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        if scheme.lower() == "bearer":
            return self.keys.verify(value.strip()) is not None
        if scheme.lower() == "basic":
            return self._account(value.strip())
        return False

    def _account(self, value: str) -> bool:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        ok = False  # every account compared, in constant time, whichever matches
        for u, p in self.accounts:
            ok |= hmac.compare_digest(u.encode(), user.encode()) & hmac.compare_digest(p.encode(), password.encode())
        return ok


def guard(access: Access, service: CollectionService, error: ErrorBody
          ) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Wrap a door's endpoint: the credentials first, then every failure as the door's error
    (``error(status, type, message)``), its message without server paths. Starlette's exception
    handlers cannot be added to a server that is already running, so each endpoint answers for itself."""

    def wrap(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(fn)
        async def endpoint(request: Request, *args: Any, **kwargs: Any) -> Any:
            try:
                refused = await run_in_threadpool(access.refusal, request.headers)
            except AssistantError as e:  # the keys file unreadable: the server's fault, said in its log
                log.error("checking the credentials of %s %s failed: %s", request.method, request.url.path, e)
                refused = (500, "InternalError", INTERNAL)
            if refused is not None:
                status, kind, message = refused
                r = error(status, kind, message, None)
                if status == 401:
                    r.headers["WWW-Authenticate"] = CHALLENGE
                return r
            try:
                return await fn(request, *args, **kwargs)
            except Refused as e:
                return error(e.status, e.kind, str(e), e.param)
            except AssistantError as e:
                return error(http_status(e), type(e).__name__, service.public_message(e), None)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return error(500, "InternalError", INTERNAL, None)

        return endpoint

    return wrap
