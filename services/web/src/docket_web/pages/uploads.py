"""``/upload``: one or more files, with or without JavaScript; the web stores none of them.

With JavaScript each file is its own XHR (so each gets a progress bar), with the CSRF token in a header;
its body is streamed to the API unchanged, never parsed or stored here. Without JavaScript the form posts
every file at once with the token in a hidden field, its first; the form is read as it arrives and each
file relayed to the API as its own streamed call (server/form_relay.py). Either way the token and the
session were checked before any of the body was read (server/csrf.py, signed_in.py), and the body is on
a deadline (server/body_deadline.py). The answer names each file's outcome: uploaded, too large, wrong
type or a duplicate (with a link to the document it duplicates).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
from litestar import Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Template

from docket_core.contracts import declared_body_too_large, upload_body_limit
from docket_web.server.api import Api, problem_of, raise_for_status, retry_after_of
from docket_web.server.errors import wait_phrase
from docket_web.server.filters import filesize
from docket_web.server.form_relay import TooManyFilesError, relay_upload_form
from docket_web.server.render import AnyRequest, page, provide_api, with_query
from docket_web.server.workspaces import load_workspaces, parse_workspace_id
from docket_web.settings import WebSettings

CSRF_HEADER = "x-csrftoken"
ACCEPTED_TYPES = (
    "PDF, plain text, Markdown, HTML, CSV, JSON, Word, Excel, PowerPoint, OpenDocument or an image"
)


class Outcome(msgspec.Struct, omit_defaults=True):
    """What became of one uploaded file, for the page and for the script."""

    filename: str
    ok: bool
    status: int
    kind: str
    message: str
    document_id: str | None = None
    document_url: str | None = None
    document_status: str | None = None
    title: str | None = None
    existing_url: str | None = None


def _megabytes(limit: int) -> str:
    """``20 MB`` for whole megabytes, else as the pages show sizes (``195.3 KB``)."""
    mib = 1024 * 1024
    return f"{limit // mib} MB" if limit % mib == 0 else filesize(limit)


def too_large(filename: str, limit: int) -> Outcome:
    return Outcome(
        filename, False, 413, "too-large", f"This file is larger than the {_megabytes(limit)} limit."
    )


def outcome_of(response: httpx.Response, filename: str, limit: int) -> Outcome:
    """Turn the API's answer to one upload into an outcome; errors the page cannot explain are raised."""
    status = response.status_code
    if status == 201:
        doc = response.json()
        return Outcome(
            str(doc.get("filename") or filename),
            True,
            201,
            "uploaded",
            "Uploaded.",
            document_id=str(doc["id"]),
            document_url=f"/documents/{doc['id']}",
            document_status=str(doc["status"]),
            title=str(doc.get("title") or filename),
        )
    problem = problem_of(response)
    if status == 409 and problem.get("existing_id"):
        existing = f"/documents/{problem['existing_id']}"
        return Outcome(
            filename, False, 409, "duplicate", "You have already uploaded this file.", existing_url=existing
        )
    if status == 413:
        return too_large(filename, limit)
    if status == 415:
        return Outcome(
            filename,
            False,
            415,
            "wrong-type",
            f"Docket cannot read this type of file. Upload {ACCEPTED_TYPES}.",
        )
    if status in (400, 422):
        detail = str(problem.get("detail") or "The file could not be read.")
        return Outcome(filename, False, status, "invalid", detail)
    if status == 429:
        wait = retry_after_of(response)
        message = "Too many uploads just now. " + (
            f"Try again in {wait_phrase(wait)}." if wait else "Try again soon."
        )
        return Outcome(filename, False, 429, "rate-limited", message)
    if status == 403 and str(problem.get("type") or "").endswith(":forbidden"):
        message = "Your role in this workspace does not allow uploads. Ask an admin to make you an editor."
        return Outcome(filename, False, 403, "forbidden", message)
    if refused := _refused_by_a_limit(response, problem, filename):
        return refused
    raise_for_status(response)
    return Outcome(filename, False, status, "error", "The upload failed.")  # pragma: no cover


def _refused_by_a_limit(response: httpx.Response, problem: dict[str, Any], filename: str) -> Outcome | None:
    """The API's quota and capacity refusals, said beside the file instead of as an error page."""
    slug = str(problem.get("type") or "").rpartition(":")[2]
    status = response.status_code
    if status == 403 and slug.startswith("quota-"):
        detail = str(problem.get("detail") or "Your account has reached its storage quota.")
        return Outcome(filename, False, 403, "quota", detail)
    if status == 503 and slug == "upload-capacity":
        wait = retry_after_of(response)
        later = f"Try again in {wait_phrase(wait)}." if wait else "Try again soon."
        return Outcome(filename, False, 503, "busy", f"Docket is busy with other uploads. {later}")
    if status == 408 and slug in ("upload-too-slow", "upload-too-long"):
        return Outcome(
            filename, False, 408, "too-slow", "The upload was too slow. Try again on a faster connection."
        )
    return None


def _json(outcome: Outcome) -> Response[bytes]:
    return Response(msgspec.json.encode(outcome), status_code=outcome.status, media_type="application/json")


def api_upload_path(request: AnyRequest) -> str:
    """The API's upload route, for the workspace the page named (none: the user's personal one)."""
    workspace = parse_workspace_id(request.query_params.get("workspace"))
    return with_query("/api/v1/documents", workspace_id=workspace)


async def _upload_streamed(request: AnyRequest, api: Api, limit: int) -> Response[bytes]:
    """The script's upload: one file, whose request body goes to the API as it arrives."""
    declared = request.headers.get("content-length", "")
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return _json(Outcome("", False, 415, "invalid", "Send the file as multipart/form-data."))
    if not declared.isdigit():
        return _json(Outcome("", False, 411, "invalid", "The upload must state its length."))
    if declared_body_too_large(declared, limit):
        return _json(too_large("", limit))
    response = await api.send_once(
        "POST",
        api_upload_path(request),
        content=request.stream(),
        headers={"Content-Type": content_type, "Content-Length": declared},
    )
    return _json(outcome_of(response, "", limit))


async def _upload_form(request: AnyRequest, api: Api, settings: WebSettings) -> Template:
    """The form's upload (no script): each file of the form relayed to the API as it arrives."""
    limit = settings.max_upload_bytes
    target = api_upload_path(request)

    async def send(filename: str, content_type: str, body: AsyncIterator[bytes]) -> Outcome:
        response = await api.send_once("POST", target, content=body, headers={"Content-Type": content_type})
        return outcome_of(response, filename, limit)

    try:
        outcomes = await relay_upload_form(
            request.headers.get("content-type", ""),
            request.stream(),
            max_file_bytes=limit,
            max_files=settings.upload_max_files,
            memory_bytes=settings.upload_spool_memory_bytes,
            send=send,
            too_large=lambda filename: too_large(filename, limit),
        )
    except TooManyFilesError as exc:
        error = (
            f"Upload at most {settings.upload_max_files} files at a time; "
            "the files after those were not uploaded."
        )
        return page(
            request, "upload.html", status=400, error=error, results=exc.done, **await _context(request, api)
        )
    if not outcomes:
        error = "Choose one or more files to upload."
        return page(request, "upload.html", status=400, error=error, **await _context(request, api))
    return page(request, "upload.html", results=outcomes, **await _context(request, api))


async def _context(request: AnyRequest, api: Api) -> dict[str, Any]:
    """What the upload page shows: the limits, and the workspace the files go to."""
    ws = await load_workspaces(api, request.query_params.get("workspace"))
    return {"ws": ws, **_limits(request.app.state.settings)}


def _limits(settings: WebSettings) -> dict[str, Any]:
    return {
        "max_bytes": settings.max_upload_bytes,
        "max_size": _megabytes(settings.max_upload_bytes),
        "max_files": settings.upload_max_files,
        "accepted": ACCEPTED_TYPES,
    }


def upload_router(settings: WebSettings) -> Router:
    """The upload page and its form handler, with a body limit that fits UPLOAD_MAX_FILES files."""
    form_limit = upload_body_limit(settings.max_upload_bytes, files=settings.upload_max_files)

    @get("/upload")
    async def upload_page(request: AnyRequest, api: NamedDependency[Api]) -> Template:
        """The upload form: pick or drop files."""
        api.require_session()
        return page(request, "upload.html", **await _context(request, api))

    @post("/upload", request_max_body_size=form_limit)
    async def upload(request: AnyRequest, api: NamedDependency[Api]) -> Response[Any]:
        """One streamed file from the script (JSON back), or the whole form without it (a page back)."""
        api.require_session()
        if request.headers.get(CSRF_HEADER):  # the script: the CSRF middleware left the body unread
            return await _upload_streamed(request, api, settings.max_upload_bytes)
        return await _upload_form(request, api, settings)

    return Router("/", route_handlers=[upload_page, upload], dependencies={"api": Provide(provide_api)})
