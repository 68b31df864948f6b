"""Geometry checks of bounding boxes and image sizes, shared by every reader of boxes.

The encoder (:class:`~consolidation._box_annotations.BoxAnnotations`), the command line's readers
and the Lambda handler apply the same rules, so a box refused by one is refused by all: finite
numbers of magnitude at most :data:`MAX_COORDINATE`, no negative width or height, positive image
sizes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._errors import AnnotationError

__all__ = ["COORDS", "MAX_COORDINATE", "box_problem", "coords_array", "image_size_problem"]

COORDS = ("left", "top", "width", "height")
#: Largest magnitude of a coordinate or image size: 2**53, beyond which float64 pixel
#: coordinates are no longer exact integers. It keeps areas (at most 2**106), edges and IoUs
#: finite, so no NaN can reach a confidence.
MAX_COORDINATE = float(2**53)


def box_problem(left: Any, top: Any, width: Any, height: Any) -> tuple[str, str] | None:
    """Check one box's geometry: ``(field, reason)`` of the first problem, or None.

    Coordinates must be finite numbers of magnitude at most :data:`MAX_COORDINATE`; width and
    height must not be negative. This is the check
    :meth:`~consolidation.BoxAnnotations.from_arrays` applies to every box, for readers that want
    to reject a box where they read it.

    Examples
    --------
    >>> box_problem(10, 10, -5, 100)
    ('width', '-5 is negative')
    >>> box_problem(1e300, 0, 1e300, 1)
    ('left', '1e+300 is larger than 2**53 in magnitude')
    >>> box_problem(1, 2, 3, 4) is None
    True
    """
    for name, value in zip(COORDS, (left, top, width, height), strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            return name, f"expected a number, got {value!r}"
        if isinstance(value, float | np.floating) and not math.isfinite(value):
            return name, f"{value!r} is not a finite number"
        if abs(value) > MAX_COORDINATE:
            return name, f"{value!r} is larger than 2**53 in magnitude"
        if name in ("width", "height") and value < 0:
            return name, f"{value!r} is negative"
    return None


def image_size_problem(width: Any, height: Any) -> tuple[str, str] | None:
    """Check an image size: ``(field, reason)`` of the first problem, or None.

    Both must be positive, finite numbers of magnitude at most :data:`MAX_COORDINATE`.

    Examples
    --------
    >>> image_size_problem(0, 480)
    ('width', '0 is not positive')
    >>> image_size_problem(640, 480) is None
    True
    """
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            return name, f"expected a number, got {value!r}"
        if isinstance(value, float | np.floating) and not math.isfinite(value):
            return name, f"{value!r} is not a finite number"
        if value <= 0:
            return name, f"{value!r} is not positive"
        if value > MAX_COORDINATE:
            return name, f"{value!r} is larger than 2**53"
    return None


def coords_array(boxes: Any, n: int, where: Any) -> NDArray[np.float64]:
    """Return ``boxes`` as an (n, 4) float64 array, checked like :func:`box_problem`.

    ``where(row)`` names the item and worker of a row in the error messages.
    """
    try:
        coords = np.array(boxes, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # overflow: an int beyond the float range
        for row, box in enumerate(list(boxes)):
            for name, value in zip(COORDS, box, strict=False):
                try:
                    float(value)
                except (TypeError, ValueError):
                    raise AnnotationError(
                        f"{where(row)}: {name} {value!r} is not a number (row {row})"
                    ) from None
                except OverflowError:
                    raise AnnotationError(
                        f"{where(row)}: {name} {value!r} is larger than 2**53 in magnitude "
                        f"(row {row})"
                    ) from None
        raise AnnotationError("boxes must be an (n, 4) array of numbers") from None
    if n == 0 and coords.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if coords.shape != (n, 4):
        raise AnnotationError(f"boxes must have shape ({n}, 4), got {coords.shape}")
    bad = ~np.isfinite(coords)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        value = float(coords[row, col])
        raise AnnotationError(
            f"{where(row)}: {COORDS[col]} is {value!r}, not a finite number (row {row})"
        )
    huge = np.abs(coords) > MAX_COORDINATE
    if huge.any():
        row, col = (int(v) for v in np.argwhere(huge)[0])
        value = float(coords[row, col])
        raise AnnotationError(
            f"{where(row)}: {COORDS[col]} {value!r} is larger than 2**53 in magnitude (row {row})"
        )
    negative = coords[:, 2:] < 0
    if negative.any():
        row, col = (int(v) for v in np.argwhere(negative)[0])
        value = float(coords[row, 2 + col])
        raise AnnotationError(f"{where(row)}: {COORDS[2 + col]} {value!r} is negative (row {row})")
    return coords
