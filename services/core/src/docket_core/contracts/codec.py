"""Typed decoding for every contract, so a malformed message fails in one place with one error."""

from __future__ import annotations

from typing import TypeVar

import msgspec

T = TypeVar("T")


class MalformedMessageError(ValueError):
    """A message that does not match its contract: not JSON, or a field missing or of the wrong type."""


def decode_json(data: bytes | str, message_type: type[T]) -> T:
    """``data`` (JSON) as a ``message_type``, or :class:`MalformedMessageError`."""
    try:
        return msgspec.json.decode(data, type=message_type)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError too
        raise MalformedMessageError(f"malformed {message_type.__name__}: {exc}") from None


def decode_builtins(value: object, message_type: type[T]) -> T:
    """``value`` (already parsed, e.g. a ``jsonb`` column) as a ``message_type``, or the same error."""
    try:
        return msgspec.convert(value, type=message_type)
    except msgspec.ValidationError as exc:
        raise MalformedMessageError(f"malformed {message_type.__name__}: {exc}") from None
