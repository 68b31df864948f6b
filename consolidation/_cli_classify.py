"""``gt-consolidate classify``, ``workers`` and ``evaluate``: single-label consolidation."""

from __future__ import annotations

import argparse
import csv
import inspect
import os
import sys
from collections.abc import Sequence
from typing import Any, Literal, NoReturn

import numpy as np
from numpy.typing import NDArray

from manifests._cli_util import progress, progress_enabled
from manifests.io import Accounting
from manifests.validation import check_attribute_name

from . import groundtruth as gt
from . import quality
from ._annotations import Annotations
from ._cli_answers import AnswerSource, open_source
from ._cli_io import (
    PROG,
    InputError,
    UsageError,
    class_order,
    load_classes,
    load_gold,
    output_text,
    write_manifest,
)
from ._errors import AnnotationError
from ._methods import METHODS, make_estimator
from .bayesian_ds import describe_setting
from .worker_state import WorkerState

__all__ = [
    "accounting",
    "cmd_classify",
    "cmd_evaluate",
    "cmd_workers",
    "estimator",
    "fit_classification",
    "report",
]


# -------------------------------------------------------------------------------------------------
# shared
# -------------------------------------------------------------------------------------------------


def accounting(args: argparse.Namespace) -> Accounting:
    """Return the accounting of a command: stop at the first bad answer, or collect (``skip``)."""
    policy: Literal["collect", "raise"] = "collect" if args.on_error == "skip" else "raise"
    return Accounting(on_error=policy, max_rejections=args.max_errors)


def report(args: argparse.Namespace, acc: Accounting, text: str) -> None:
    """Print the rejected answers and the one-line accounting on stderr (unless ``--quiet``)."""
    for rejection in acc.rejections:
        print(str(rejection), file=sys.stderr)
    if not args.quiet:
        more = len(acc.rejections) < acc.rejected
        note = f" ({acc.rejected - len(acc.rejections)} not listed)" if more else ""
        print(f"{PROG} {args.command}: {text}, rejected {acc.rejected}{note}", file=sys.stderr)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``"1 item"``, ``"2 items"``; ``plural`` for the others: ``counted(2, "box", "boxes")``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def read_note(acc: Accounting, ann: Any, *, classes: bool = True, boxes: bool = False) -> str:
    """``read N answers (N items, N workers, N classes)``: what a command read, in words."""
    parts = [counted(ann.n_items, "item"), counted(ann.n_workers, "worker")]
    if classes:
        parts.append(counted(ann.n_classes, "class", "classes"))
    if boxes:
        parts.append(counted(ann.n_boxes, "box", "boxes"))
    return f"read {counted(acc.read, 'answer')} ({', '.join(parts)})"


def estimator(method: str, jobs: int | None = None) -> Any:
    """Return a fresh estimator for a ``--method`` name (a clear message when unavailable).

    ``jobs``: ``--jobs``, the threads that fit the default method's settings (None: all CPUs).
    """
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    return make_estimator(method, n_jobs=jobs)


def accepts_warm_start(est: Any) -> bool:
    """Whether ``est.fit`` takes ``warm_start=`` (the EM methods)."""
    return "warm_start" in inspect.signature(est.fit).parameters


def no_usable_answers(acc: Accounting, name: str) -> NoReturn:
    """Stop with exit 1: nothing to consolidate.

    The rejected answers are listed first: the accounting line that lists them is never reached.
    """
    for rejection in acc.rejections:
        print(str(rejection), file=sys.stderr)
    rejected = f" ({counted(acc.rejected, 'answer')} rejected)" if acc.rejected else ""
    raise InputError(f"{name}: no usable answers{rejected}")


def check_cap(value: float | None) -> None:
    """Validate ``--max-confidence``."""
    if value is not None and not 0.0 < value <= 1.0:
        raise UsageError(f"--max-confidence must be in (0, 1], got {value}")


def read_classification(
    args: argparse.Namespace,
    acc: Accounting,
    classes: Sequence[str] | None,
    source: AnswerSource | None = None,
) -> tuple[Annotations, bool]:
    """Read the answers of ``args.input``; return the annotations and whether it is a text task."""
    if source is None:
        source = open_source(args.input, "classification", acc, classes)
    else:
        source.classes = classes
    triples = list(progress(source, None, progress_enabled(args), "answers"))
    if not triples:
        no_usable_answers(acc, source.name)
    order = list(classes) if classes is not None else class_order(t[2] for t in triples)
    try:
        return Annotations.from_records(triples, order), source.text
    except AnnotationError as exc:  # e.g. a single class: say which input
        raise InputError(f"{source.name}: {exc}") from exc


#: From this many answers on, the CLI says up front that the default method takes a while.
SLOW_DEFAULT_ANSWERS = 1_000_000


def fit_classification(
    args: argparse.Namespace, acc: Accounting, method: str, *, state_path: str | None = None
) -> tuple[Any, Annotations, bool, str]:
    """Read the answers and fit ``method`` (warm-started from ``state_path`` when it exists)."""
    source = open_source(args.input, "classification", acc)
    est = estimator(method, args.jobs)
    classes = load_classes(args.classes)
    state = None
    if state_path:
        if not accepts_warm_start(est):
            raise UsageError(
                "--state needs a method that learns worker quality "
                f"(default, mds, mds-service, ds), not {method!r}"
            )
        if os.path.exists(state_path):
            try:
                state = WorkerState.load(state_path)
            except AnnotationError as exc:  # its message names the file already
                raise InputError(str(exc)) from exc
            except OSError as exc:
                raise InputError(f"{state_path}: {exc.strerror or exc}") from exc
            if classes is None:
                classes = [str(c) for c in state.classes]
                source.classes_from = f"the classes of --state {state_path}"
            else:
                try:
                    state.check_classes(classes)
                except AnnotationError as exc:
                    raise InputError(f"{state_path}: {exc}") from exc
    ann, text = read_classification(args, acc, classes, source)
    if method == "default" and ann.n_answers >= SLOW_DEFAULT_ANSWERS and not args.quiet:
        print(
            f"gt-consolidate: {ann.n_answers:,} answers; the default method takes tens of seconds "
            "per million answers (--method ds or mds: about a second, less accurate)",
            file=sys.stderr,
        )
    note = ""
    mix_path = getattr(args, "class_mix", None)
    if mix_path:
        note += known_class_mix(est, method, ann, mix_path)
    if state is not None:
        try:
            state.check_classes(ann.classes.tolist())
        except AnnotationError as exc:
            raise InputError(f"{state_path}: {exc}") from exc
        known = int((state.lookup(ann.worker_ids.tolist()) >= 0).sum())
        note += f", warm start ({known} of {ann.n_workers} workers known)"
        est.fit(ann, warm_start=state)
    else:
        est.fit(ann)
    if getattr(est, "selected_params_", None) is not None:  # the default: which setting won
        note += f" ({describe_setting(est.selected_params_)})"
    if state_path:
        est.worker_state_.save(state_path)
        note += f", state saved to {state_path}"
    return est, ann, text, note


def _fmt(value: float, digits: int = 4) -> str:
    return f"{round(float(value), digits):g}"


# -------------------------------------------------------------------------------------------------
# classify
# -------------------------------------------------------------------------------------------------


def check_manifest_args(args: argparse.Namespace) -> None:
    """Check that ``--format manifest`` has ``--manifest`` and a valid ``--attribute``."""
    if args.format == "manifest":
        missing = [
            o for o, v in (("--manifest", args.manifest), ("--attribute", args.attribute)) if not v
        ]
        if missing:
            raise UsageError(f"--format manifest needs {' and '.join(missing)}")
        check_attribute_name(args.attribute)
        if not os.path.exists(args.manifest):
            raise UsageError(f"{args.manifest}: no such file or folder")
    else:
        given = [
            option
            for option, value in (
                ("--manifest", args.manifest),
                ("--attribute", args.attribute),
                ("--job-name", args.job_name),
                ("--text", getattr(args, "text", False)),
            )
            if value
        ]
        if given:
            verb = "goes" if len(given) == 1 else "go"
            raise UsageError(f"{' and '.join(given)} {verb} with --format manifest")


def finish_manifest(
    args: argparse.Namespace, contents: dict[str, gt.LabelContent], acc: Accounting
) -> str:
    """Write the output manifest; return the accounting text about it."""
    labelled, unmatched = write_manifest(
        args.manifest, contents, args.attribute, args.output, acc, strict=args.on_error == "raise"
    )
    if unmatched:  # --on-error skip: written without them, and said so
        print(
            f"{PROG}: warning: {len(unmatched)} consolidated object(s) match no line of "
            f"{args.manifest} (object id = 0-based line number), e.g. {unmatched[0]!r}",
            file=sys.stderr,
        )
        return f"labelled {labelled}, unmatched {len(unmatched)} (not written)"
    return f"labelled {labelled}"


def job_name(args: argparse.Namespace) -> str:
    """``labeling-job/<name>`` from ``--job-name`` (a name or an ARN; default: the attribute)."""
    return gt.job_name_from_arn(args.job_name or args.attribute)


def cmd_classify(args: argparse.Namespace) -> int:
    """Consolidate single-label answers; write CSV or an output manifest."""
    check_manifest_args(args)
    check_cap(args.max_confidence)
    if args.self_calibrate and args.method != "default":
        raise UsageError("--self-calibrate needs --method default")
    if args.drop_copies and (args.method == "mv" or args.state):
        raise UsageError("--drop-copies needs a method with confusion matrices, and no --state")
    acc = accounting(args)
    est, ann, text, note = fit_classification(args, acc, args.method, state_path=args.state)
    if args.drop_copies:
        fewer = quality.drop_copies(est, ann)
        dropped = ann.n_answers - fewer.n_answers
        note += f", {dropped} answers of copies dropped"
        if dropped:
            est.fit(fewer)
            if getattr(est, "selected_params_", None) is not None:
                note += f", fitted again ({describe_setting(est.selected_params_)})"
    if args.calibrate:
        note += calibrate(est, args.calibrate, args.input)
    elif args.self_calibrate:
        note += _temper(est, quality.self_temperature(est), "fitted on the answers, no gold")
    if args.max_confidence is not None:
        est.confidence_ = np.minimum(est.confidence_, args.max_confidence)
    extra = ""
    if args.format == "manifest":
        contents = {
            str(c.item): c
            for c in gt.classification_contents(
                est, job_name=job_name(args), text=text or args.text, answers=ann
            )
        }
        extra = ", " + finish_manifest(args, contents, acc)
    else:
        with output_text(args.output) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["item", "label", "confidence"])
            for item, label, conf in est.results():
                writer.writerow([item, label, _fmt(conf)])
                acc.written += 1
    report(
        args,
        acc,
        f"{read_note(acc, ann)}, method {args.method}{note}, written {acc.written}{extra}",
    )
    return 0


# -------------------------------------------------------------------------------------------------
# workers
# -------------------------------------------------------------------------------------------------


def _report_rows(report_obj: Any) -> list[dict[str, Any]]:
    rows = report_obj.to_rows() if hasattr(report_obj, "to_rows") else list(report_obj)
    out = []
    for row in rows:
        if isinstance(row, dict):
            out.append(row)
        elif hasattr(row, "_asdict"):
            out.append(dict(row._asdict()))
        else:
            raise TypeError(f"unexpected worker-report row {row!r}")
    return out


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if not np.isfinite(v) else f"{v:.3f}"
        return str(v)

    cells = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for r in cells:
        lines.append(
            "  ".join(
                v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths, strict=True)
            ).rstrip()
        )
    return "\n".join(lines) + "\n"


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cmd_workers(args: argparse.Namespace) -> int:
    """Fit a method and print its worker report."""
    if args.png:
        _check_plot(args.method)
    if args.copying and args.method == "mv":
        raise UsageError("--copying needs a method with confusion matrices (mds, ds, default)")
    acc = accounting(args)
    est, ann, _, _ = fit_classification(args, acc, args.method)
    report_obj = quality.worker_report(est, ann)
    copying = ""
    if args.copying:
        pairs = quality.copying_pairs(est, ann)
        with output_text(args.copying) as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["worker_a", "worker_b", "shared", "agreement", "expected", "z"])
            for p in pairs:
                numbers = f"{p.agreement:.4f}", f"{p.expected:.4f}", f"{p.z:.2f}"
                writer.writerow([p.worker_a, p.worker_b, p.shared, *numbers])
        copying = f", {len(pairs)} copying pairs in {args.copying}"
    rows = _report_rows(report_obj)
    columns = list(rows[0]) if rows else ["worker"]
    shown = rows if args.top is None else rows[: args.top]
    with output_text(args.output) as out:
        out.write(_table(shown, columns))
    if args.csv:
        with output_text(args.csv) as fh:
            report_obj.to_csv(fh)
    if args.png:
        _plot(est, args.png)
    acc.written = len(shown)
    report(
        args,
        acc,
        f"{read_note(acc, ann, classes=False)}, method {args.method}, "
        f"written {counted(len(shown), 'worker row')}{copying}",
    )
    return 0


def _check_plot(method: str) -> None:
    if method == "mv":
        raise UsageError("--png needs a method with confusion matrices (mds, ds, default)")
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "--png needs matplotlib, which is not installed: pip install 'gt-consolidation[plot]'"
        ) from exc


def _plot(est: Any, path: str) -> None:
    if not hasattr(est, "confusions_"):
        raise UsageError("--png needs a method with confusion matrices (mds, ds, default)")
    quality.plot_confusions(est, path)


# -------------------------------------------------------------------------------------------------
# evaluate
# -------------------------------------------------------------------------------------------------


def score(est: Any, gold: dict[str, str]) -> tuple[int, int]:
    """(correct, scored) over the items that have a gold label."""
    hits = n = 0
    for item, label in zip(est.item_ids_.tolist(), est.labels_.tolist(), strict=True):
        truth = gold.get(str(item))
        if truth is not None:
            n += 1
            hits += str(label) == truth
    return hits, n


def _gold_rows(est: Any, gold: dict[str, str]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Rows of the items with a gold label among the classes, and those labels' codes.

    The CLI reads ids and labels as text; they are matched to the estimator's own values (which
    may be numbers) and aligned by :func:`quality.gold_codes`.
    """
    items = {str(i): i for i in est.item_ids_.tolist()}
    classes = {str(c): c for c in est.classes_.tolist()}
    native = {items[i]: classes.get(label, label) for i, label in gold.items() if i in items}
    rows, codes = quality.gold_codes(est, native)
    known = codes >= 0
    return rows[known], codes[known]


def ece(est: Any, gold: dict[str, str]) -> float | None:
    """Return the expected calibration error over the gold items (None: no gold item)."""
    rows, truth = _gold_rows(est, gold)
    if not rows.size:
        return None
    return float(quality.calibration(np.asarray(est.posteriors_)[rows], truth).ece)


def known_class_mix(est: Any, method: str, ann: Annotations, gold_path: str) -> str:
    """Hold the class mix of the gold labels fixed in ``est``; return a note."""
    if method != "default":
        raise UsageError(f"--class-mix needs --method default, not {method!r}")
    by_name = {str(c): c for c in ann.classes.tolist()}
    counts = dict.fromkeys(by_name.values(), 0.5)  # every class keeps a chance, even unseen
    gold = load_gold(gold_path)
    for item, label in gold.items():
        if label not in by_name:
            raise InputError(
                f"{gold_path}: item {item!r}: label {label!r} is not a class of the answers "
                f"({', '.join(by_name)})"
            )
        counts[by_name[label]] += 1
    est.set_params(class_prior=counts)
    return f", class mix of {len(gold)} gold labels held fixed"


def calibrate(est: Any, gold_path: str, source: str) -> str:
    """Temper ``est``'s posteriors with the temperature fitted on the gold items; return a note."""
    rows, truth = _gold_rows(est, load_gold(gold_path))
    if not rows.size:
        raise InputError(f"{gold_path}: no gold label matches an item and class of {source}")
    t = quality.fit_temperature(np.asarray(est.posteriors_)[rows], truth)
    return _temper(est, t, f"fitted on {rows.size} gold items")


def _temper(est: Any, t: float, how: str) -> str:
    """Temper ``est``'s posteriors and confidences with ``t``; return the accounting note."""
    est.posteriors_ = quality.temper(est.posteriors_, t)
    est.confidence_ = est.posteriors_.max(axis=1)
    return f", confidences tempered (T={t:.2f}, {how})"


DEFAULT_METHODS = "mv,ds,mds,default"


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Fit several methods on the same answers and score them against gold labels."""
    methods = [m.strip() for m in (args.methods or DEFAULT_METHODS).split(",") if m.strip()]
    if args.methods is not None and not args.methods.strip(", "):
        raise UsageError("--methods: no method given")
    for m in methods:
        if m not in METHODS:
            raise UsageError(f"--methods: unknown method {m!r}; choose from {', '.join(METHODS)}")
    acc = accounting(args)
    source = open_source(args.input, "classification", acc)
    gold = load_gold(args.gold)
    ann, _ = read_classification(args, acc, load_classes(args.classes), source)
    rows = []
    for m in methods:
        est = estimator(m, args.jobs).fit(ann)
        hits, n = score(est, gold)
        if n == 0:
            raise InputError(f"{args.gold}: no gold label matches an item of {args.input}")
        row: dict[str, Any] = {
            "method": m,
            "correct": f"{hits}/{n}",
            "accuracy": f"{hits / n:.2%}",
        }
        cal = ece(est, gold)
        if cal is not None:
            row["ECE"] = f"{cal:.3f}"
        rows.append(row)
    columns = list(dict.fromkeys(c for r in rows for c in r))
    with output_text(args.output) as out:
        out.write(_table(rows, columns))
    acc.written = len(rows)
    report(
        args,
        acc,
        f"{read_note(acc, ann, classes=False)}, {_gold_note(gold, ann)}, "
        f"written {counted(len(rows), 'method row')}",
    )
    return 0


def _gold_note(gold: dict[str, str], ann: Annotations) -> str:
    """Count the gold labels, and say which ones were not scored or not calibrated, and why."""
    items = {str(i) for i in ann.item_ids.tolist()}
    classes = {str(c) for c in ann.classes.tolist()}
    unanswered = sum(item not in items for item in gold)
    foreign = sum(item in items and label not in classes for item, label in gold.items())
    note = counted(len(gold), "gold label")
    if unanswered:
        note += f" ({unanswered} of items without answers: not scored)"
    if foreign:
        note += f" ({foreign} not a class of the answers: scored wrong, left out of the ECE)"
    return note
