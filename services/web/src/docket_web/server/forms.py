"""Reading the site's small forms, and the API's refusals a form shows beside itself."""

from __future__ import annotations

from typing import Any

from docket_web.server.api import Api, problem_of, raise_for_status

MAX_FIELD_CHARS = 1024
MAX_VALUES = 20
# refusals a form explains in place (the API's problem detail), instead of an error page
INLINE_STATUSES = frozenset({400, 403, 404, 409, 422})


def field(form: Any, name: str, max_chars: int = MAX_FIELD_CHARS) -> str:
    """One text field, cut to ``max_chars`` (the API checks the real limits)."""
    value = form.get(name)
    return value[:max_chars] if isinstance(value, str) else ""


def values(form: Any, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes), at most ``MAX_VALUES``."""
    found = form.getall(name, []) if hasattr(form, "getall") else []
    return [value[:MAX_FIELD_CHARS] for value in found[:MAX_VALUES] if isinstance(value, str)]


class RefusedError(Exception):
    """The API refused a change; ``status`` and ``message`` go on the page beside the form."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def change(api: Api, method: str, path: str, json: Any = None) -> Any:
    """Make a change at the API: its JSON body (None for 204), or a :class:`RefusedError` to show inline."""
    response = await api.send(method, path, json=json)
    if response.status_code in INLINE_STATUSES:
        problem = problem_of(response)
        message = str(problem.get("detail") or problem.get("title") or "That was refused.")
        raise RefusedError(response.status_code, message)
    raise_for_status(response)
    return response.json() if response.content else None
