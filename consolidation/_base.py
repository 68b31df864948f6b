"""The estimator contract shared by every consolidator (scikit-learn / crowd-kit style)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._annotations import Annotations
from ._errors import AnnotationError, NotFittedError
from ._params import Params

__all__ = ["BaseConsolidator", "annotations_of", "as_annotations", "check_fitted"]


def as_annotations(data: Any, classes: Any = None) -> Annotations:
    """Accept :class:`Annotations`, (item, worker, label) rows, or a DataFrame.

    Parameters
    ----------
    data : Annotations, iterable of triples, or DataFrame
        The answers.
    classes : sequence, optional
        Class order, used when ``data`` still has to be encoded.

    Returns
    -------
    Annotations
    """
    if isinstance(data, Annotations):
        if classes is not None and list(classes) != data.classes.tolist():
            raise AnnotationError(
                f"classes={list(classes)!r} differ from the annotations' classes "
                f"{data.classes.tolist()!r}"
            )
        return data
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):
        return Annotations.from_dataframe(data, classes)
    if isinstance(data, str | bytes):
        raise AnnotationError("expected annotations, rows or a DataFrame, got a string")
    return Annotations.from_records(data, classes)


def annotations_of(estimator: Any, annotations: Any) -> Annotations | None:
    """Return the annotations behind a fitted estimator (given, or kept by it), checked.

    Raises
    ------
    AnnotationError
        When the annotations do not match the estimator's items and classes.
    """
    ann = annotations if annotations is not None else getattr(estimator, "annotations_", None)
    if ann is None:
        return None
    ann = as_annotations(ann)
    if ann.n_items != len(estimator.item_ids_) or list(ann.classes) != list(estimator.classes_):
        raise AnnotationError("the annotations are not those the estimator was fitted on")
    if not np.array_equal(ann.item_ids, estimator.item_ids_):
        raise AnnotationError("the annotations' items differ from the estimator's items")
    return ann


def check_fitted(estimator: Any, attribute: str = "posteriors_") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has been fitted."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"this {type(estimator).__name__} is not fitted yet; call fit(annotations) first"
        )


class BaseConsolidator(Params, ABC):
    """Common behaviour of single-label consolidators.

    Subclasses implement ``fit`` and set ``item_ids_``, ``classes_``, ``posteriors_`` (n_items x K,
    rows sum to 1), ``labels_`` and ``confidence_``. Constructor arguments are keyword-only and only
    stored; ``get_params``, ``set_params`` and ``repr`` come from :class:`~._params.Params`.
    """

    item_ids_: NDArray[Any]
    classes_: NDArray[Any]
    posteriors_: NDArray[np.float64]
    labels_: NDArray[Any]
    label_codes_: NDArray[np.intp]
    confidence_: NDArray[np.float64]

    @abstractmethod
    def fit(self, annotations: Any) -> BaseConsolidator:
        """Fit on annotations and return ``self``."""

    def fit_predict(self, annotations: Any, **fit_params: Any) -> NDArray[Any]:
        """Fit and return ``labels_`` (class values aligned with ``item_ids_``)."""
        return self.fit(annotations, **fit_params).labels_

    def fit_predict_proba(self, annotations: Any, **fit_params: Any) -> NDArray[np.float64]:
        """Fit and return ``posteriors_`` (n_items x K, rows sum to 1)."""
        return self.fit(annotations, **fit_params).posteriors_

    def results(self) -> Iterator[tuple[Any, Any, float]]:
        """Yield ``(item_id, label, confidence)`` per item, in ``item_ids_`` order."""
        check_fitted(self)
        yield from zip(
            self.item_ids_.tolist(), self.labels_.tolist(), self.confidence_.tolist(), strict=True
        )

    def _set_outputs(
        self,
        ann: Annotations,
        posteriors: NDArray[np.float64],
        codes: NDArray[np.intp],
        confidence: NDArray[np.float64],
    ) -> None:
        self.item_ids_ = ann.item_ids
        self.classes_ = ann.classes
        self.posteriors_ = posteriors
        self.label_codes_ = codes
        self.labels_ = ann.classes[codes]
        self.confidence_ = confidence
