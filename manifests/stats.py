"""Summaries of a manifest: class counts, confidence histograms, human vs auto, boxes per image."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from manifests._values import quantity
from manifests.errors import FieldError
from manifests.io import Accounting
from manifests.records import (
    BoxLabel,
    ClassificationLabel,
    Label,
    MultiLabel,
    Record,
    SegmentationLabel,
    SpanLabel,
    VideoLabel,
)

__all__ = ["AttributeStats", "ManifestStats", "compute_stats"]


@dataclass
class AttributeStats:
    """Statistics of one label attribute.

    ``classes`` counts boxes (object detection), lines (classification, verification),
    selected ids (multi-label), entities (NER) or colour-map classes (segmentation) per class
    name (``#<id>`` when the name is unknown). ``confidence_histogram[k]`` counts confidences in
    ``[k/bins, (k+1)/bins)`` (1.0 in the last bin); ``boxes_per_image`` maps a number of boxes
    to the number of lines with that many.
    """

    attribute: str
    types: Counter[str] = field(default_factory=Counter)
    labelled: int = 0
    failed: int = 0
    human: int = 0
    auto: int = 0
    classes: Counter[str] = field(default_factory=Counter)
    confidence_histogram: list[int] = field(default_factory=list)
    confidence_count: int = 0
    confidence_sum: float = 0.0
    confidence_min: float = math.inf
    confidence_max: float = -math.inf
    boxes_per_image: Counter[int] = field(default_factory=Counter)
    adjustment: Counter[str] = field(default_factory=Counter)

    @property
    def confidence_mean(self) -> float | None:
        """Mean of all confidences (None when there are none)."""
        return self.confidence_sum / self.confidence_count if self.confidence_count else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        has = self.confidence_count > 0
        return {
            "attribute": self.attribute,
            "types": dict(self.types),
            "labelled": self.labelled,
            "failed": self.failed,
            "human_annotated": {"yes": self.human, "no": self.auto},
            "classes": dict(self.classes.most_common()),
            "confidence": {
                "count": self.confidence_count,
                "mean": round(self.confidence_sum / self.confidence_count, 6) if has else None,
                "min": self.confidence_min if has else None,
                "max": self.confidence_max if has else None,
                "histogram": list(self.confidence_histogram),
            },
            "boxes_per_image": {str(k): v for k, v in sorted(self.boxes_per_image.items())},
            "adjustment_status": dict(self.adjustment),
        }


@dataclass
class ManifestStats:
    """Statistics of a whole manifest (see :func:`compute_stats`).

    ``lines`` counts the lines summarised, ``data_keys`` their data keys (``source-ref``,
    ``source``), ``attributes`` maps each label attribute to its :class:`AttributeStats`.

    Examples
    --------
    >>> from manifests.io import read
    >>> lines = ['{"source": "a", "tone": 1, "tone-metadata": {"class-name": "positive", '
    ...          '"confidence": 0.67, "type": "groundtruth/text-classification"}}',
    ...          '{"source": "b"}']
    >>> st = compute_stats(read(lines))
    >>> st.lines, dict(st.data_keys), {name: a.labelled for name, a in st.attributes.items()}
    (2, {'source': 2}, {'tone': 1})
    """

    lines: int = 0
    bins: int = 10
    data_keys: Counter[str] = field(default_factory=Counter)
    attributes: dict[str, AttributeStats] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "lines": self.lines,
            "data_keys": dict(self.data_keys),
            "bins": self.bins,
            "attributes": {name: a.to_dict() for name, a in self.attributes.items()},
        }

    def format(self) -> str:
        """Human-readable report."""
        out = [
            f"lines: {self.lines}  ("
            + ", ".join(f"{k} {v}" for k, v in self.data_keys.items())
            + ")"
        ]
        for a in self.attributes.values():
            unlabelled = self.lines - a.labelled - a.failed
            out.append("")
            out.append(f"{a.attribute}  [{', '.join(a.types)}]")
            out.append(f"  labelled {a.labelled}, failed {a.failed}, unlabelled {unlabelled}")
            out.append(f"  human-annotated yes {a.human}, no {a.auto}")
            if a.adjustment:
                out.append(
                    "  adjustment-status " + ", ".join(f"{k} {v}" for k, v in a.adjustment.items())
                )
            if a.classes:
                width = max(len(name) for name in a.classes)
                out.append("  classes:")
                for name, count in a.classes.most_common():
                    out.append(f"    {name:<{width}}  {count}")
            if a.confidence_count:
                out.append(
                    f"  confidence: n {a.confidence_count}, "
                    f"mean {a.confidence_sum / a.confidence_count:.3f}, "
                    f"min {a.confidence_min:g}, max {a.confidence_max:g}"
                )
                top = max(a.confidence_histogram) or 1
                for k, count in enumerate(a.confidence_histogram):
                    lo, hi = k / self.bins, (k + 1) / self.bins
                    bar = "#" * round(30 * count / top)
                    close = "]" if k == self.bins - 1 else ")"
                    out.append(f"    [{lo:.2f}, {hi:.2f}{close} {count:>7}  {bar}")
            if a.boxes_per_image:
                total = sum(k * v for k, v in a.boxes_per_image.items())
                images = quantity(sum(a.boxes_per_image.values()), "image")
                out.append(f"  boxes: {total} in {images}")
                out.append(
                    "  boxes per image: "
                    + ", ".join(f"{k}: {v}" for k, v in sorted(a.boxes_per_image.items()))
                )
        return "\n".join(out)


def _class_key(cid: int, names: dict[int, str]) -> str:
    name = names.get(cid)
    return name if name is not None else f"#{cid}"


def _add_label(stats: AttributeStats, lab: Label, bins: int) -> None:
    confs = lab.confidences()
    human = lab.human_annotated
    if isinstance(lab, BoxLabel):
        names = lab.class_map
        ids = lab.class_ids()
        if len(lab._objects()) not in (0, len(ids)):
            lab.boxes  # noqa: B018 - raises the alignment error
        counted = [_class_key(cid, names) for cid in ids]
        n_boxes = len(ids)
    elif isinstance(lab, ClassificationLabel):
        name = lab.class_name
        counted = [name if name is not None else f"#{lab.label_id}"]
        n_boxes = -1
    else:
        n_boxes = -1
        if isinstance(lab, MultiLabel):
            names = lab.class_map
            counted = [_class_key(cid, names) for cid in lab.label_ids]
        elif isinstance(lab, SpanLabel):
            counted = [ent.label for ent in lab.entities]
        elif isinstance(lab, SegmentationLabel):
            counted = [e.class_name or f"#{cid}" for cid, e in lab.color_map.items()]
        elif isinstance(lab, VideoLabel):
            counted = list(lab.class_map.values())
        else:
            counted = []
    stats.labelled += 1
    if human is True:
        stats.human += 1
    elif human is False:
        stats.auto += 1
    stats.classes.update(counted)
    if n_boxes >= 0:
        stats.boxes_per_image[n_boxes] += 1
    hist = stats.confidence_histogram
    for conf in confs:
        k = min(bins - 1, max(0, int(conf * bins)))
        hist[k] += 1
        stats.confidence_count += 1
        stats.confidence_sum += conf
        stats.confidence_min = min(stats.confidence_min, conf)
        stats.confidence_max = max(stats.confidence_max, conf)
    status = lab.adjustment_status
    if status is not None:
        stats.adjustment[status] += 1


def compute_stats(
    records: Iterable[Record],
    *,
    attribute: str | None = None,
    bins: int = 10,
    accounting: Accounting | None = None,
) -> ManifestStats:
    """Summarise every label attribute (or only ``attribute``) of a manifest.

    Counts classes, confidences (histogram), human vs auto labels and boxes per image.

    Lines are counted as ``written`` in the accounting once summarised; a line whose label
    cannot be read is rejected.

    Examples
    --------
    >>> from manifests.io import read
    >>> lines = [
    ...   '{"source": "a", "t": 0, "t-metadata": {"class-name": "no", "confidence": 0.42, '
    ...   '"human-annotated": "yes", "type": "groundtruth/text-classification"}}',
    ...   '{"source": "b", "t": 1, "t-metadata": {"class-name": "yes", "confidence": 0.95, '
    ...   '"human-annotated": "no", "type": "groundtruth/text-classification"}}']
    >>> st = compute_stats(read(lines))
    >>> a = st.attributes["t"]
    >>> st.lines, dict(a.classes), a.human, a.auto, a.confidence_histogram
    (2, {'no': 1, 'yes': 1}, 1, 1, [0, 0, 0, 0, 1, 0, 0, 0, 0, 1])
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    acc = accounting if accounting is not None else Accounting()
    result = ManifestStats(bins=bins)
    attrs = result.attributes
    for rec in records:
        try:
            labels = (
                rec.labels() if attribute is None else [x for x in (rec.label(attribute),) if x]
            )
            updates = []
            for lab in labels:
                stats = attrs.get(lab.attribute)
                if stats is None:
                    stats = AttributeStats(lab.attribute, confidence_histogram=[0] * bins)
                scratch = AttributeStats(lab.attribute, confidence_histogram=[0] * bins)
                if lab.failed:
                    scratch.failed += 1
                else:
                    _add_label(scratch, lab, bins)
                scratch.types[lab.type or "?"] += 1
                updates.append((stats, scratch))
        except FieldError as exc:
            acc.reject_record(rec, exc.field, exc.reason, exc)
            continue
        for stats, scratch in updates:
            _merge(stats, scratch)
            attrs.setdefault(stats.attribute, stats)
        result.lines += 1
        key = rec.data_key
        result.data_keys[key or "no data key"] += 1
        acc.written += 1
    return result


def _merge(into: AttributeStats, part: AttributeStats) -> None:
    into.types.update(part.types)
    into.labelled += part.labelled
    into.failed += part.failed
    into.human += part.human
    into.auto += part.auto
    into.classes.update(part.classes)
    for k, v in enumerate(part.confidence_histogram):
        into.confidence_histogram[k] += v
    into.confidence_count += part.confidence_count
    into.confidence_sum += part.confidence_sum
    into.confidence_min = min(into.confidence_min, part.confidence_min)
    into.confidence_max = max(into.confidence_max, part.confidence_max)
    into.boxes_per_image.update(part.boxes_per_image)
    into.adjustment.update(part.adjustment)
