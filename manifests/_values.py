"""Small value types and tolerant JSON value readers shared by the label views."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any, NamedTuple, TypeVar

from manifests.errors import FieldError

__all__ = [
    "Box",
    "ColorEntry",
    "Entity",
    "ImageSize",
    "as_int_id",
    "as_number",
    "as_optional_number",
    "collection_of",
    "expect_dict",
    "expect_list",
    "parse_class_map",
    "quantity",
]


def quantity(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for one: ``quantity(1, "box", "boxes") == "1 box"``.

    Examples
    --------
    >>> quantity(1, "image"), quantity(0, "image"), quantity(2, "entity", "entities")
    ('1 image', '0 images', '2 entities')
    """
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


# -------------------------------------------------------------------------------------------------
# small value types
# -------------------------------------------------------------------------------------------------


class ImageSize(NamedTuple):
    """``image_size[0]`` of an object-detection label."""

    width: int
    height: int
    depth: int | None


class Box(NamedTuple):
    """One box of an object-detection label with its aligned ``objects`` entry."""

    class_id: int
    left: float
    top: float
    width: float
    height: float
    confidence: float | None
    class_name: str | None


class ColorEntry(NamedTuple):
    """One entry of a semantic-segmentation ``internal-color-map``."""

    class_name: str | None
    hex_color: str | None
    confidence: float | None


class Entity(NamedTuple):
    """One entity of a named-entity-recognition (``groundtruth/text-span``) label."""

    label: str
    start: int
    end: int
    confidence: float | None


# -------------------------------------------------------------------------------------------------
# value parsing helpers (raise FieldError)
# -------------------------------------------------------------------------------------------------


def _tname(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def as_int_id(value: Any, field: str) -> int:
    """Read a class id: a non-negative int or a string of digits (``4`` or ``"4"``)."""
    if type(value) is int:
        if value >= 0:
            return value
    elif type(value) is str and value.isdigit() and value.isascii():
        return int(value)
    raise FieldError(field, f"expected a class id (non-negative integer), got {value!r}")


def as_number(value: Any, field: str) -> float:
    """Read a finite JSON number (bool is not a number)."""
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise FieldError(field, f"expected a finite number, got {value!r}")
    if type(value) is int:
        return value
    raise FieldError(field, f"expected a number, got {_tname(value)}")


def as_optional_number(value: Any, field: str) -> float | None:
    """Like :func:`as_number` but None stays None."""
    return None if value is None else as_number(value, field)


def expect_dict(value: Any, field: str) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object."""
    if type(value) is not dict:
        raise FieldError(field, f"expected an object, got {_tname(value)}")
    return value


def expect_list(value: Any, field: str) -> list[Any]:
    """Return ``value`` if it is a JSON array."""
    if type(value) is not list:
        raise FieldError(field, f"expected a list, got {_tname(value)}")
    return value


def parse_class_map(value: Any, field: str) -> dict[int, str]:
    """Read a ``class-map`` (``{"<id>": "<name>"}``) into ``{id: name}``."""
    if value is None:
        return {}
    out: dict[int, str] = {}
    for key, name in expect_dict(value, field).items():
        cid = as_int_id(key, f"{field}.{key}")
        if type(name) is not str:
            raise FieldError(f"{field}.{key}", f"expected a class name string, got {_tname(name)}")
        out[cid] = name
    return out


T = TypeVar("T")


def collection_of(name: str, values: Collection[T]) -> Collection[T]:
    """Return ``values``, refusing a single string (its letters would be taken as the names).

    Examples
    --------
    >>> collection_of("classes", ["duck"])
    ['duck']
    >>> collection_of("classes", "duck")
    Traceback (most recent call last):
    ...
    ValueError: classes takes a list of names, not the string 'duck'
    """
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} takes a list of names, not the string {values!r}")
    return values
