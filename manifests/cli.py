"""``gt-manifest``: reshape and check SageMaker Ground Truth manifests from the shell.

Every command reads a path or ``-`` (stdin), writes ``-o PATH`` or stdout, prints one line of
accounting to stderr (``read N, written N, filtered N, rejected N, blank N``), shows a progress
bar on long inputs when stderr is a terminal, and exits 0 (success), 1 (invalid input: the
message is ``file:line: field: reason``), 2 (usage error) or 141 (the reader of standard output
went away, ``| head``; silently).
"""

from __future__ import annotations

import argparse
import json
import os
import string
import sys
from collections.abc import Iterable, Sequence

from manifests._accounting import Accounting
from manifests._catalog import (
    ClassCatalog,
    compact_id_map,
    remap_labels,
    renamed_labels,
    scan_classes,
    write_label_categories,
)
from manifests._classes import drop_classes, remap_ids, rename_classes
from manifests._cli_responses import cmd_responses
from manifests._cli_util import (
    PROG,
    UsageError,
    accounting,
    attribute_option,
    check_labels_out,
    common_options,
    count_type,
    err,
    id_pairs,
    load_labels,
    open_input,
    pairs,
    pipeline,
    progress,
    progress_enabled,
    report,
    run_command,
    spooled_input,
    unit_interval,
    write_text,
)
from manifests.errors import ManifestError
from manifests.io import Writer, write
from manifests.records import Record
from manifests.stats import compute_stats
from manifests.transforms import (
    audit_attribute_name,
    filter_records,
    rename_attribute,
    split,
    to_adjustment,
    to_verification,
)
from manifests.validation import validate

__all__ = ["build_parser", "main"]

# -------------------------------------------------------------------------------------------------
# commands
# -------------------------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    acc = accounting(args, default="skip")
    with open_input(args, acc) as reader:
        records = validate(
            progress(reader, reader, progress_enabled(args)),
            attribute=args.attribute,
            accounting=acc,
        )
        if args.output_given:
            write(
                records,
                args.output,
                accounting=acc,
                verbatim=not args.normalize,
                line_buffered=args.input == "-",
            )
        else:
            for _ in records:
                acc.written += 1
    acc.check()
    report(args, acc, "valid")
    return 1 if acc.rejected else 0


def cmd_stats(args: argparse.Namespace) -> int:
    acc = accounting(args)
    with open_input(args, acc) as reader:
        result = compute_stats(
            progress(reader, reader, progress_enabled(args)),
            attribute=args.attribute,
            bins=args.bins,
            accounting=acc,
        )
    acc.check()
    if args.json:
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        text = result.format() + "\n"
    write_text(args.output, text)
    report(args, acc, "counted")
    return 0


def cmd_filter(args: argparse.Namespace) -> int:
    human = None if args.human is None else args.human == "yes"
    low, high = args.min_confidence, args.max_confidence
    if low is not None and high is not None and low > high:
        raise UsageError(
            f"--min-confidence {low:g} is above --max-confidence {high:g}: no line could match"
        )

    def build(records: Iterable[Record], acc: Accounting) -> Iterable[Record]:
        return filter_records(
            records,
            attribute=args.attribute,
            min_confidence=args.min_confidence,
            max_confidence=args.max_confidence,
            confidence_of=args.confidence_of,
            human_annotated=human,
            has_classes=args.has_class or (),
            without_classes=args.without_class or (),
            status=args.status or (),
            adjustment_status=args.adjustment_status or (),
            accounting=acc,
        )

    report(args, pipeline(args, build))
    return 0


def cmd_drop_classes(args: argparse.Namespace) -> int:
    def build(records: Iterable[Record], acc: Accounting) -> Iterable[Record]:
        return drop_classes(
            records,
            args.classes,
            attribute=args.attribute,
            mark_adjusted=args.mark_adjusted,
            drop_lines=not args.keep_lines,
            accounting=acc,
        )

    report(args, pipeline(args, build))
    return 0


def cmd_rename_classes(args: argparse.Namespace) -> int:
    check_labels_out(args)
    mapping = dict(pairs(args.map, "--map"))
    labels = load_labels(args.labels)
    if args.labels_out and labels is None:
        raise UsageError("--labels-out needs --labels (the job's label list)")
    new_labels = renamed_labels(labels, mapping)[0] if labels is not None else None

    def build(records: Iterable[Record], acc: Accounting) -> Iterable[Record]:
        return rename_classes(
            records, mapping, labels=labels, attribute=args.attribute, accounting=acc
        )

    acc = pipeline(args, build)
    if args.labels_out and new_labels is not None:
        write_label_categories(new_labels, args.labels_out)
    report(args, acc)
    return 0


def cmd_remap_ids(args: argparse.Namespace) -> int:
    check_labels_out(args)
    if bool(args.map) == bool(args.compact):
        raise UsageError("give either --map OLD=NEW (repeatable) or --compact")
    labels = load_labels(args.labels)
    path = args.input
    catalog: ClassCatalog | None = None
    if args.compact or (args.labels_out and labels is None):
        path = spooled_input(args)
        with open_input(args, Accounting(on_error="collect"), path) as reader:
            catalog = scan_classes(reader, args.attribute)
    if args.compact:
        assert catalog is not None
        id_map = compact_id_map(catalog.ids())
    else:
        id_map = dict(id_pairs(args.map, "--map"))
    new_labels = None
    if args.labels_out:
        if labels is not None:
            new_labels = remap_labels(labels, id_map, drop_unmapped=args.compact)
        else:
            assert catalog is not None
            names = catalog.labels(allow_holes=True)
            by_id = {i: n for i, n in enumerate(names) if n is not None}
            missing = [i for i in (id_map if args.compact else range(len(names))) if i not in by_id]
            if missing:
                raise ManifestError(f"no name for class id {missing[0]} in the data: pass --labels")
            new_labels = remap_labels(by_id, id_map, drop_unmapped=args.compact)

    def build(records: Iterable[Record], acc: Accounting) -> Iterable[Record]:
        return remap_ids(records, id_map, attribute=args.attribute, accounting=acc)

    acc = pipeline(args, build, input_path=path)
    if new_labels is not None:
        write_label_categories(new_labels, args.labels_out)
    if not args.quiet:
        changes = ", ".join(f"{o}->{n}" for o, n in sorted(id_map.items()))
        print(f"{PROG} remap-ids: ids {changes}", file=sys.stderr)
    report(args, acc)
    return 0


def cmd_rename_attribute(args: argparse.Namespace) -> int:
    def build(records: Iterable[Record], acc: Accounting) -> Iterable[Record]:
        return rename_attribute(records, args.old, args.new, accounting=acc)

    report(args, pipeline(args, build))
    return 0


def cmd_to_audit(args: argparse.Namespace) -> int:
    check_labels_out(args)
    kind = args.kind
    labels = load_labels(args.labels)
    catalog = ClassCatalog()
    new = args.new_attribute or audit_attribute_name(args.attribute, kind)
    fn = to_adjustment if kind == "adjustment" else to_verification

    def build(records: Iterable[Record], acc: Accounting) -> Iterable[Record]:
        return fn(
            records,
            args.attribute,
            new_attribute=new,
            drop_other_labels=args.drop_other_labels,
            catalog=catalog,
            accounting=acc,
        )

    acc = pipeline(args, build)
    if args.labels_out:
        if labels is not None:
            seen = catalog.labels(allow_holes=True)
            for cid, name in enumerate(seen):
                if name is not None and (cid >= len(labels) or labels[cid] != name):
                    raise ManifestError(
                        f"class id {cid} is {name!r} in the manifest but "
                        f"{labels[cid] if cid < len(labels) else 'missing'!r} in --labels"
                    )
            base = list(labels)
        else:
            base = catalog.labels()
        base += [name for name in args.extra_label or () if name not in base]
        write_label_categories(base, args.labels_out)
    if not args.quiet:
        print(
            f"{PROG} {args.command}: label attribute name for the {kind} job: {new}",
            file=sys.stderr,
        )
    report(args, acc)
    return 0


def _parse_fractions(values: Sequence[str]) -> list[tuple[str, float]]:
    parts: list[tuple[str, float]] = []
    for value in values:
        for item in value.split(","):
            name, sep, frac = item.partition("=")
            try:
                parts.append((name.strip(), float(frac)))
            except ValueError:
                sep = ""
            if not sep or not name.strip():
                raise UsageError(f"--part expects NAME=FRACTION, got {item!r}")
    return parts


def _part_paths(template: str, names: Sequence[str]) -> dict[str, str]:
    """Output path of every part from the ``-o`` template; refuse a template that cannot work.

    The template must hold ``{name}`` and no other placeholder, and two parts must never format
    to the same file (one would overwrite the other and lose its lines).
    """
    example = "e.g. -o 'out/{name}.manifest'"
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:  # a lone "{" or "}"
        raise UsageError(f"-o {template!r}: bad template ({exc}); {example}") from exc
    others = sorted({f for f in fields if f != "name"})
    if others:
        shown = ", ".join("{" + f + "}" for f in others)
        raise UsageError(
            f"-o {template!r}: unknown placeholder {shown}: only {{name}} is filled in; {example}"
        )
    if "name" not in fields:
        raise UsageError(f"split needs -o with a {{name}} placeholder, {example}")
    paths: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name in names:
        try:
            path = template.format(name=name)
        except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
            raise UsageError(f"-o {template!r}: cannot fill in {{name}}: {exc}") from exc
        where = os.path.normcase(os.path.abspath(path))
        if where in seen:
            raise UsageError(
                f"-o {template!r}: parts {seen[where]!r} and {name!r} would both be written "
                f"to {path}"
            )
        seen[where] = name
        paths[name] = path
    return paths


def cmd_split(args: argparse.Namespace) -> int:
    if not args.output_given:
        raise UsageError("split needs -o with a {name} placeholder, e.g. -o 'out/{name}.manifest'")
    parts = _parse_fractions(args.part)
    names = [name for name, _ in parts]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"--part: part names must be distinct, {', '.join(dupes)} repeated")
    paths = _part_paths(args.output, names)
    acc = accounting(args)
    for name in names:  # the accounting lists the parts in the order given
        acc.counters[name] = 0
    writers: dict[str, Writer] = {}
    ok = False
    try:
        for name in names:
            # the template may name folders per part ('split/{name}.manifest'): create them
            folder = os.path.dirname(paths[name])
            if folder:
                os.makedirs(folder, exist_ok=True)
            writers[name] = Writer(paths[name], accounting=acc, verbatim=not args.normalize)
        with open_input(args, acc) as reader:
            records = progress(reader, reader, progress_enabled(args))
            for name, rec in split(records, parts, seed=args.seed, key=args.key, accounting=acc):
                if writers[name].write(rec):
                    acc.count(name)
        ok = True
    finally:
        for writer in writers.values():
            writer.close(ok)
    acc.check()
    report(args, acc)
    return 0


# -------------------------------------------------------------------------------------------------
# parser
# -------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``gt-manifest``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Reshape and check SageMaker Ground Truth manifests (JSON Lines).",
        epilog=(
            "Exit status: 0 ok, 1 invalid input (file:line: field: reason), 2 usage error, "
            "141 output closed early (| head)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("validate", help="check every line (reference section 5.3)")
    common_options(p, output_help="also write the valid lines here")
    attribute_option(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "stats", help="class counts, confidence histogram, human vs auto, boxes per image"
    )
    common_options(p)
    attribute_option(p)
    p.add_argument("--bins", type=count_type(1), default=10, help="confidence histogram bins (10)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("filter", help="keep lines matching every given rule")
    common_options(p)
    attribute_option(p)
    p.add_argument(
        "--min-confidence", type=unit_interval, metavar="X", help="keep confidence >= X (0..1)"
    )
    p.add_argument(
        "--max-confidence", type=unit_interval, metavar="X", help="keep confidence <= X (0..1)"
    )
    p.add_argument(
        "--confidence-of",
        choices=("min", "mean", "max"),
        default="min",
        help="aggregate of several confidences (min)",
    )
    p.add_argument(
        "--human", choices=("yes", "no"), help="human-annotated yes (human) or no (auto-labelled)"
    )
    p.add_argument(
        "--has-class",
        action="append",
        metavar="NAME",
        help="keep lines with this class (repeatable: any)",
    )
    p.add_argument(
        "--without-class", action="append", metavar="NAME", help="keep lines without this class"
    )
    p.add_argument("--status", action="append", choices=("labelled", "failed", "unlabelled"))
    p.add_argument(
        "--adjustment-status", action="append", choices=("adjusted", "unadjusted", "none")
    )
    p.set_defaults(func=cmd_filter)

    p = sub.add_parser("drop-classes", help="remove classes from one label attribute")
    common_options(p)
    attribute_option(p)
    p.add_argument("-c", "--class", dest="classes", action="append", required=True, metavar="NAME")
    p.add_argument(
        "--mark-adjusted",
        action="store_true",
        help="set adjustment-status 'adjusted' (AWS notebook)",
    )
    p.add_argument(
        "--keep-lines",
        action="store_true",
        help="classification: remove the label instead of the line",
    )
    p.set_defaults(func=cmd_drop_classes)

    p = sub.add_parser(
        "rename-classes", help="rename classes; same new name = merge (needs --labels)"
    )
    common_options(p)
    attribute_option(p)
    p.add_argument("--map", action="append", required=True, metavar="OLD=NEW")
    p.add_argument(
        "--labels", help="the job's label list: label-category file, JSON list, text or a,b,c"
    )
    p.add_argument("--labels-out", metavar="PATH", help="write the new label-category file")
    p.set_defaults(func=cmd_rename_classes)

    p = sub.add_parser("remap-ids", help="renumber class ids (explicit or compact)")
    common_options(p)
    attribute_option(p)
    p.add_argument(
        "--map", action="append", metavar="OLD=NEW", help="explicit id change (repeatable)"
    )
    p.add_argument(
        "--compact", action="store_true", help="renumber the ids in use to 0..n-1 (two passes)"
    )
    p.add_argument("--labels", help="the job's label list (names by old id)")
    p.add_argument("--labels-out", metavar="PATH", help="write the new label-category file")
    p.set_defaults(func=cmd_remap_ids)

    p = sub.add_parser("rename-attribute", help="rename a label attribute and its metadata")
    common_options(p)
    p.add_argument("--from", dest="old", required=True, metavar="OLD")
    p.add_argument("--to", dest="new", required=True, metavar="NEW")
    p.set_defaults(func=cmd_rename_attribute)

    for name, kind, article in (
        ("to-adjustment", "adjustment", "an"),
        ("to-verification", "verification", "a"),
    ):
        p = sub.add_parser(name, help=f"prepare the input of {article} {kind} job")
        common_options(p)
        attribute_option(p, required=True)
        suffix = "adjusted" if kind == "adjustment" else "verified"
        p.add_argument(
            "--new-attribute", help=f"label attribute of the {kind} job (default <a>-{suffix})"
        )
        p.add_argument(
            "--drop-other-labels", action="store_true", help="remove the other label attributes"
        )
        p.add_argument("--labels", help="the job's label list (default: the classes seen)")
        p.add_argument(
            "--extra-label", action="append", metavar="NAME", help="add a class to the label list"
        )
        p.add_argument(
            "--labels-out", metavar="PATH", help="write the label-category file of the new job"
        )
        p.set_defaults(func=cmd_to_audit, kind=kind)
    sub.choices["to-adjustment"].add_argument(
        "--kind",
        choices=("adjustment", "verification"),
        default="adjustment",
        help=argparse.SUPPRESS,
    )

    p = sub.add_parser("split", help="deterministic split by seed and fractions")
    common_options(p, output_help="output template with {name}, e.g. 'out/{name}.manifest'")
    p.add_argument(
        "--part",
        action="append",
        required=True,
        metavar="NAME=FRACTION",
        help="e.g. train=0.8,test=0.2",
    )
    p.add_argument("--seed", default="0", help="seed (any string; default 0)")
    p.add_argument("--key", help="field to hash (default: source-ref or source)")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser(
        "responses", help="worker-response folder or consolidation payload -> answer rows"
    )
    common_options(
        p,
        input_help=(
            "a worker-response folder (the job's output folder, its annotations/worker-response "
            "or one iteration-<n> folder) or a consolidation-request payload (.json, .json.gz, "
            "file:// or s3:// URI; '-' for stdin)"
        ),
    )
    p.add_argument(
        "--task", choices=("raw", "classification", "multilabel", "boxes"), default="raw"
    )
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--labels", help="label list: write class indices instead of names")
    p.add_argument(
        "--iteration",
        type=count_type(0),
        metavar="N",
        help="only iteration-N of a worker-response folder",
    )
    p.set_defaults(func=cmd_responses)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gt-manifest`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    args.output_given = args.output is not None
    if args.output is None:
        args.output = "-"
    args._cleanup = None
    try:
        # A value the library rejects (a ValueError that is not a ManifestError) is a bad option.
        return run_command(lambda: int(args.func(args)), err, usage=(ValueError,))
    finally:
        if args._cleanup:
            os.unlink(args._cleanup)


if __name__ == "__main__":
    sys.exit(main())
