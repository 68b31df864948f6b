"""Streaming tools for Amazon SageMaker Ground Truth manifests (JSON Lines).

Read output manifests tolerantly, look at their labels through typed views, validate them,
reshape them with composable streaming transforms that account for every line, and turn
worker responses or consolidation payloads into plain answer rows. Pure Python; this package
never imports numba or :mod:`consolidation`.

Examples
--------
>>> import io
>>> import manifests
>>> lines = [
...     '{"source-ref": "s3://b/1.jpg", "birds": 4, "birds-metadata": {"class-name": "Parrot",'
...     ' "confidence": 0.95, "type": "groundtruth/image-classification"}}',
...     '{"source-ref": "s3://b/2.jpg", "birds": 0, "birds-metadata": {"class-name": "Duck",'
...     ' "confidence": 0.41, "type": "groundtruth/image-classification"}}',
... ]
>>> acc = manifests.Accounting()
>>> records = manifests.read(lines, accounting=acc)
>>> records = manifests.filter_records(records, min_confidence=0.5, accounting=acc)
>>> out = io.StringIO()
>>> manifests.write(records, out, accounting=acc)
1
>>> acc.summary()
'read 2, written 1, filtered 1, rejected 0, blank 0'
"""

from __future__ import annotations

from manifests._catalog import (
    LABEL_CATEGORY_VERSION,
    ClassCatalog,
    compact_id_map,
    label_category_document,
    parse_label_categories,
    read_label_categories,
    remap_labels,
    renamed_labels,
    scan_classes,
    select_label,
    write_label_categories,
)
from manifests._classes import drop_classes, remap_ids, rename_classes
from manifests.errors import (
    AmbiguousLabelError,
    FieldError,
    InvalidLineError,
    InvalidNameError,
    ManifestError,
)
from manifests.io import (
    MAX_LINE_LENGTH,
    Accounting,
    OnError,
    Reader,
    Rejection,
    Writer,
    dumps,
    read,
    write,
)
from manifests.records import (
    Box,
    BoxLabel,
    ClassificationLabel,
    ColorEntry,
    CustomLabel,
    Entity,
    ImageSize,
    Label,
    MultiLabel,
    Record,
    SegmentationLabel,
    SpanLabel,
    VerificationLabel,
    VideoLabel,
    label_view,
)
from manifests.responses import (
    AnswerBox,
    AnswerRow,
    BoxAnswer,
    answer_boxes,
    answer_label,
    answer_labels,
    read_payload,
    read_worker_responses,
    worker_response_iterations,
)
from manifests.stats import AttributeStats, ManifestStats, compute_stats
from manifests.transforms import (
    audit_attribute_name,
    filter_records,
    line_status,
    rename_attribute,
    split,
    split_fraction,
    to_adjustment,
    to_verification,
)
from manifests.validation import (
    Problem,
    attribute_name_problems,
    check_attribute_name,
    validate,
    validate_record,
)

__all__ = [
    "LABEL_CATEGORY_VERSION",
    "MAX_LINE_LENGTH",
    "Accounting",
    "AmbiguousLabelError",
    "AnswerBox",
    "AnswerRow",
    "AttributeStats",
    "Box",
    "BoxAnswer",
    "BoxLabel",
    "ClassCatalog",
    "ClassificationLabel",
    "ColorEntry",
    "CustomLabel",
    "Entity",
    "FieldError",
    "ImageSize",
    "InvalidLineError",
    "InvalidNameError",
    "Label",
    "ManifestError",
    "ManifestStats",
    "MultiLabel",
    "OnError",
    "Problem",
    "Reader",
    "Record",
    "Rejection",
    "SegmentationLabel",
    "SpanLabel",
    "VerificationLabel",
    "VideoLabel",
    "Writer",
    "answer_boxes",
    "answer_label",
    "answer_labels",
    "attribute_name_problems",
    "audit_attribute_name",
    "check_attribute_name",
    "compact_id_map",
    "compute_stats",
    "drop_classes",
    "dumps",
    "filter_records",
    "label_category_document",
    "label_view",
    "line_status",
    "parse_label_categories",
    "read",
    "read_label_categories",
    "read_payload",
    "read_worker_responses",
    "remap_ids",
    "remap_labels",
    "rename_attribute",
    "rename_classes",
    "renamed_labels",
    "scan_classes",
    "select_label",
    "split",
    "split_fraction",
    "to_adjustment",
    "to_verification",
    "validate",
    "validate_record",
    "worker_response_iterations",
    "write",
    "write_label_categories",
]
