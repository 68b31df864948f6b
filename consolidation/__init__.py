"""Consolidate crowd annotations into trustworthy labels.

Algorithms on dense integer arrays: majority vote, Dawid-Skene, the AWS Modified Dawid-Skene,
multi-label and bounding-box consolidation, worker-quality reports and review queues. numba is
imported lazily, on the first kernel call.
"""

from ._annotations import Annotations
from ._box_annotations import BoxAnnotations
from ._errors import AnnotationError, InvalidParameterError, NotFittedError
from .bayesian_ds import BayesianDawidSkene, default_estimator
from .boxes import BoxConsolidator
from .dawid_skene import DawidSkene, ModifiedDawidSkene
from .majority_vote import MajorityVote
from .multilabel import MultiLabelAnnotations, MultiLabelConsolidator
from .worker_state import WorkerState

__version__ = "0.1.0"

__all__ = [
    "AnnotationError",
    "Annotations",
    "BayesianDawidSkene",
    "BoxAnnotations",
    "BoxConsolidator",
    "DawidSkene",
    "InvalidParameterError",
    "MajorityVote",
    "ModifiedDawidSkene",
    "MultiLabelAnnotations",
    "MultiLabelConsolidator",
    "NotFittedError",
    "WorkerState",
    "__version__",
    "default_estimator",
]
