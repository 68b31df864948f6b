"""Typed views for semantic segmentation, named entity recognition and video labels.

Re-exported by :mod:`manifests.records`.
"""

from __future__ import annotations

from typing import Any

from manifests._values import (
    ColorEntry,
    Entity,
    _tname,
    as_int_id,
    as_optional_number,
    expect_dict,
    expect_list,
    parse_class_map,
    quantity,
)
from manifests._views import Label
from manifests.errors import FieldError

__all__ = ["SegmentationLabel", "SpanLabel", "VideoLabel"]


class SegmentationLabel(Label):
    """Semantic segmentation: the value is the mask PNG's URI; classes in ``internal-color-map``."""

    __slots__ = ()
    kind = "semantic-segmentation"

    @property
    def mask_uri(self) -> str | None:
        """URI of the consolidated mask."""
        value = self._value()
        if value is None or type(value) is str:
            return value
        raise FieldError(self.attribute, f"expected a URI string, got {_tname(value)}")

    @property
    def color_map(self) -> dict[int, ColorEntry]:
        """``internal-color-map`` as ``{id: ColorEntry}``."""
        field = f"{self.metadata_key}.internal-color-map"
        raw = self._m("internal-color-map")
        if raw is None:
            return {}
        out = {}
        for key, entry in expect_dict(raw, field).items():
            efield = f"{field}.{key}"
            entry = expect_dict(entry, efield)
            name, color = entry.get("class-name"), entry.get("hex-color")
            if name is not None and type(name) is not str:
                raise FieldError(f"{efield}.class-name", f"expected a string, got {_tname(name)}")
            if color is not None and type(color) is not str:
                raise FieldError(f"{efield}.hex-color", f"expected a string, got {_tname(color)}")
            conf = as_optional_number(entry.get("confidence"), f"{efield}.confidence")
            out[as_int_id(key, efield)] = ColorEntry(name, color, conf)
        return out

    @property
    def confidence(self) -> float | None:
        """The image confidence (repeated in every color-map entry)."""
        confs = self.confidences()
        return confs[0] if confs else None

    def confidences(self) -> tuple[float, ...]:
        if not self.has_value:
            return ()
        confs = [e.confidence for e in self.color_map.values() if e.confidence is not None]
        return tuple(confs[:1])

    def class_ids(self) -> tuple[int, ...]:
        return tuple(self.color_map)

    def class_names(self) -> frozenset[str]:
        return frozenset(e.class_name for e in self.color_map.values() if e.class_name is not None)


class SpanLabel(Label):
    """Named entity recognition (``groundtruth/text-span``): entities with one confidence each."""

    __slots__ = ()
    kind = "text-span"

    def _ann(self) -> dict[str, Any]:
        body = expect_dict(self._value(), self.attribute)
        return expect_dict(body.get("annotations"), f"{self.attribute}.annotations")

    @property
    def label_names(self) -> tuple[str, ...]:
        """Names in ``annotations.labels`` (the label list shown to workers)."""
        if not self.has_value:
            return ()
        field = f"{self.attribute}.annotations.labels"
        raw = self._ann().get("labels")
        if raw is None:
            return ()
        out = []
        for k, item in enumerate(expect_list(raw, field)):
            name = expect_dict(item, f"{field}[{k}]").get("label")
            if type(name) is not str:
                raise FieldError(f"{field}[{k}].label", "expected a string")
            out.append(name)
        return tuple(out)

    @property
    def entities(self) -> tuple[Entity, ...]:
        """The entities with their aligned confidences."""
        if not self.has_value:
            return ()
        field = f"{self.attribute}.annotations.entities"
        ents = expect_list(self._ann().get("entities"), field)
        mfield = f"{self.metadata_key}.entities"
        raw = self._m("entities")
        confs = [] if raw is None else expect_list(raw, mfield)
        if confs and len(confs) != len(ents):
            raise FieldError(
                mfield,
                f"{quantity(len(confs), 'confidence')} for "
                f"{quantity(len(ents), 'entity', 'entities')}",
            )
        out = []
        for k, ent in enumerate(ents):
            efield = f"{field}[{k}]"
            ent = expect_dict(ent, efield)
            label = ent.get("label")
            if type(label) is not str:
                raise FieldError(f"{efield}.label", "expected a string")
            start, end = ent.get("startOffset"), ent.get("endOffset")
            for key, off in (("startOffset", start), ("endOffset", end)):
                if type(off) is not int or off < 0:
                    raise FieldError(
                        f"{efield}.{key}", f"expected a non-negative integer, got {off!r}"
                    )
            conf = None
            if confs:
                conf = as_optional_number(
                    expect_dict(confs[k], f"{mfield}[{k}]").get("confidence"),
                    f"{mfield}[{k}].confidence",
                )
            out.append(Entity(label, start, end, conf))  # type: ignore[arg-type]
        return tuple(out)

    def confidences(self) -> tuple[float, ...]:
        return tuple(e.confidence for e in self.entities if e.confidence is not None)

    def class_names(self) -> frozenset[str]:
        return frozenset(e.label for e in self.entities)


class VideoLabel(Label):
    """Video frame object detection / tracking: the value is the URI of a ``SeqLabel.json``."""

    __slots__ = ()
    kind = "video"

    @property
    def seq_label_uri(self) -> str | None:
        """URI of the sequence label file."""
        value = self._value()
        if value is None or type(value) is str:
            return value
        raise FieldError(self.attribute, f"expected a URI string, got {_tname(value)}")

    @property
    def class_map(self) -> dict[int, str]:
        """``class-map`` (classes present in the sequence)."""
        return parse_class_map(self._m("class-map"), f"{self.metadata_key}.class-map")

    def class_ids(self) -> tuple[int, ...]:
        return tuple(self.class_map)

    def class_names(self) -> frozenset[str]:
        return frozenset(self.class_map.values())
