"""CSRF checks that refuse a request before reading its body.

Litestar's CSRF middleware looks for a form's token by parsing the whole form, uploads included, so
an anonymous 20 MB post was read and spooled to /tmp before it was refused. Here the token comes
from the ``X-CSRFToken`` header, or else from the form's *first* field, read from at most
``FIRST_FIELD_MAX_BYTES`` of the body; every form of the site puts its hidden token first (browsers
send fields in document order). A request with no CSRF cookie, no token, or a wrong one is refused
without reading more. The bytes read to find the token are handed on to the app unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote_plus

from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.types import Receive, ReceiveMessage, Scope, Send
from litestar.utils.scope.state import ScopeState
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from docket_web.server.metrics import REFUSALS

TOKEN_FIELD = "_csrf_token"  # noqa: S105  # the form field's name, not a secret
# the field's part headers and a 128-character token fit many times over
FIRST_FIELD_MAX_BYTES = 4096
URL_ENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class BodyPrefix:
    """The start of a request body, read message by message; it can be replayed to the app."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.messages: list[ReceiveMessage] = []
        self.ended = False

    async def chunks(self, limit: int) -> AsyncIterator[bytes]:
        """The body's bytes as they come, until it ends or ``limit`` bytes have been read."""
        read = 0
        while not self.ended and read < limit:
            message = await self.receive()
            self.messages.append(message)
            if message["type"] != "http.request":
                self.ended = True
                return
            self.ended = not message.get("more_body", False)
            body = message.get("body", b"")
            read += len(body)
            yield body

    def replay(self) -> Receive:
        """A ``receive`` that returns what was read, then reads on."""
        pending = list(self.messages)

        async def receive() -> ReceiveMessage:
            return pending.pop(0) if pending else await self.receive()

        return receive


async def first_field_token(content_type: str, body: BodyPrefix) -> str | None:
    """The CSRF token when the form's first field holds it, read from at most a few kB of the body."""
    kind, options = parse_options_header(content_type)
    if kind == URL_ENCODED:
        buffered = b""
        async for chunk in body.chunks(FIRST_FIELD_MAX_BYTES):
            buffered += chunk
            if b"&" in buffered:
                break
        name, equals, value = buffered.split(b"&", 1)[0].partition(b"=")
        if unquote_plus(name.decode("latin-1")) != TOKEN_FIELD or not equals:
            return None
        return unquote_plus(value.decode("latin-1"))
    if kind == MULTIPART and options.get("boundary"):
        try:
            return await _first_part_token(options["boundary"], body)
        except MultipartError:
            return None
    return None


async def _first_part_token(boundary: str, body: BodyPrefix) -> str | None:
    parser = PushMultipartParser(boundary, max_header_size=1024, max_header_count=4)
    value = b""
    async for chunk in body.chunks(FIRST_FIELD_MAX_BYTES):
        for event in parser.parse(chunk):
            if isinstance(event, MultipartSegment):
                if event.name != TOKEN_FIELD or event.filename is not None:
                    return None
            elif event:
                value += event
            else:  # the first part is complete
                return value.decode("latin-1")
    return None


class BoundedCSRFMiddleware(CSRFMiddleware):
    """Litestar's double-submit CSRF check (same cookie, tokens and template field), minus the form parse."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        cookie = request.cookies.get(self.config.cookie_name)
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            token = state.csrf_token = cookie or generate_csrf_token(secret=self.config.secret)
            await self.app(
                scope, receive, self.create_send_wrapper(send=send, csrf_cookie=cookie, token=token)
            )
            return
        token = request.headers.get(self.config.header_name) if cookie else None
        if cookie and not token:
            prefix = BodyPrefix(receive)
            token = await first_field_token(request.headers.get("content-type", ""), prefix)
            receive = prefix.replay()
        if cookie is None or token is None or not self._csrf_tokens_match(token, cookie):
            REFUSALS.labels("csrf").inc()
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = token
        await self.app(scope, receive, send)
