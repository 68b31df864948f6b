"""Plumbing shared by the ``gt-manifest`` commands: I/O, accounting, progress, options."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from manifests._accounting import Accounting
from manifests._catalog import read_label_categories
from manifests.errors import AmbiguousLabelError, InvalidNameError, ManifestError
from manifests.io import MAX_LINE_LENGTH, Reader, read, write
from manifests.records import Record

PROG = "gt-manifest"
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell shows for a process killed by SIGPIPE
T = TypeVar("T")


class UsageError(ManifestError):
    """Bad command-line usage (exit status 2)."""


def plural_s(n: int) -> str:
    """``""`` for one, ``"s"`` otherwise: ``f"{n} line{plural_s(n)}"``."""
    return "" if n == 1 else "s"


def err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def run_command(
    command: Callable[[], int],
    report: Callable[[str], None],
    *,
    invalid: tuple[type[BaseException], ...] = (),
    usage: tuple[type[BaseException], ...] = (),
) -> int:
    """Run one command of a command-line tool and turn what it raises into an exit status.

    Both tools (``gt-manifest``, ``gt-consolidate``) share the convention: 1 for invalid input
    (``ManifestError`` and ``invalid``; the message names file, line and field), 2 for a usage
    error (``UsageError``, ``InvalidNameError``, ``AmbiguousLabelError``, ``usage``, an input
    path that is missing or cannot be opened), 130 on Ctrl-C, and 141 without a message when
    the reader of standard output went away (``| head``): 128 + SIGPIPE, what a shell reports
    for a process killed by SIGPIPE, so it cannot be mistaken for invalid input. ``report``
    prints a message with the tool's name.
    """
    bad_input: tuple[type[BaseException], ...] = (ManifestError, *invalid)
    try:
        return command()
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        return EXIT_BROKEN_PIPE
    except (UsageError, InvalidNameError) as exc:  # both are ManifestErrors: before them
        report(str(exc))
        return 2
    except AmbiguousLabelError as exc:  # the caller must choose: a usage error, said once
        report(f"{exc.location}: {exc.reason} with -a/--attribute")
        return 2
    except bad_input as exc:
        report(str(exc))
        return 1
    except usage as exc:
        report(str(exc))
        return 2
    except FileNotFoundError as exc:
        report(f"{exc.filename}: no such file or folder")
        return 2
    except IsADirectoryError as exc:
        report(f"{exc.filename}: is a directory" if exc.filename else str(exc))
        return 2
    except NotADirectoryError as exc:
        report(f"{exc.filename}: not a directory" if exc.filename else str(exc))
        return 2
    except PermissionError as exc:
        report(f"{exc.filename}: permission denied" if exc.filename else str(exc))
        return 2
    except OSError as exc:
        report(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130


# -------------------------------------------------------------------------------------------------
# progress
# -------------------------------------------------------------------------------------------------


def progress(
    items: Iterable[T], reader: Reader | None, enabled: bool, label: str = "lines"
) -> Iterable[T]:
    """Return ``items``, drawing a progress bar on stderr while they are consumed.

    The bar appears once the work has taken more than a second; when ``enabled`` is false the
    iterable is returned as it is (no wrapper on the hot path).
    """
    if not enabled:
        return items
    return _bar(items, reader, label)


def _bar(items: Iterable[T], reader: Reader | None, label: str) -> Iterator[T]:
    start = last = time.monotonic()
    shown = False
    n = 0
    try:
        for n, item in enumerate(items, 1):
            if n & 0xFFF == 0:
                now = time.monotonic()
                if now - start > 1.0 and now - last > 0.25:
                    last = now
                    shown = True
                    frac = reader.progress if reader is not None else None
                    rate = n / (now - start)
                    if frac is not None:
                        bar = "#" * int(frac * 30)
                        text = f"[{bar:<30}] {frac:6.1%} {n:,} {label} ({rate:,.0f}/s)"
                    else:
                        text = f"{n:,} {label} ({rate:,.0f}/s)"
                    sys.stderr.write("\r" + text)
                    sys.stderr.flush()
            yield item
    finally:
        if shown:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()


def progress_enabled(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "progress", True)) and sys.stderr.isatty()


# -------------------------------------------------------------------------------------------------
# shared plumbing
# -------------------------------------------------------------------------------------------------


def accounting(args: argparse.Namespace, default: str = "raise") -> Accounting:
    policy = args.on_error or default
    return Accounting(
        on_error="raise" if policy == "raise" else "collect", max_rejections=args.max_errors
    )


def open_input(args: argparse.Namespace, acc: Accounting, path: str | None = None) -> Reader:
    source = path if path is not None else args.input
    name = "<stdin>" if source == "-" else None
    if source != "-" and not os.path.exists(source):
        raise UsageError(f"{source}: no such file")
    if source != "-" and os.path.isdir(source):
        raise UsageError(f"{source}: is a directory, not a manifest file")
    return read(source, accounting=acc, name=name, max_line_length=args.max_line_length)


def report(args: argparse.Namespace, acc: Accounting, written: str = "written") -> None:
    for rejection in acc.rejections:
        print(str(rejection), file=sys.stderr)
    if not args.quiet:
        print(f"{PROG} {args.command}: {acc.summary(written)}", file=sys.stderr)


def pipeline(
    args: argparse.Namespace,
    build: Callable[[Iterable[Record], Accounting], Iterable[Record]],
    *,
    input_path: str | None = None,
) -> Accounting:
    acc = accounting(args)
    source = input_path or args.input
    with open_input(args, acc, input_path) as reader:
        records = progress(reader, reader, progress_enabled(args))
        write(
            build(records, acc),
            args.output,
            accounting=acc,
            verbatim=not args.normalize,
            line_buffered=source == "-",  # a stream in: every kept line out as soon as read
        )
    acc.check()
    return acc


def load_labels(value: str | None) -> list[str] | None:
    """Read a label list from a file (label-category JSON, JSON list, lines) or ``a,b,c``."""
    if value is None:
        return None
    if os.path.isdir(value):
        raise UsageError(f"{value}: is a directory, not a label list")
    if os.path.exists(value):
        try:
            return read_label_categories(value)
        except (ValueError, ManifestError) as exc:
            raise UsageError(f"{value}: not a label-category file: {exc}") from exc
    if "," in value or not (os.sep in value or value.endswith((".json", ".txt"))):
        return [name.strip() for name in value.split(",") if name.strip()]
    raise UsageError(f"{value}: no such file")


def pairs(values: Sequence[str] | None, option: str) -> list[tuple[str, str]]:
    """``OLD=NEW`` option values as pairs; the same ``OLD`` with two ``NEW`` is refused."""
    out = []
    for value in values or ():
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise UsageError(f"{option} expects OLD=NEW, got {value!r}")
        out.append((old, new))
    check_one_target(out, option)
    return out


def check_one_target(mapping: Iterable[tuple[T, T]], option: str) -> None:
    """Refuse a mapping that sends one source to two different targets."""
    seen: dict[T, T] = {}
    for old, new in mapping:
        if seen.setdefault(old, new) != new:
            raise UsageError(
                f"{option} maps {old!r} twice, to {seen[old]!r} and to {new!r}: give one target"
            )


def id_pairs(values: Sequence[str] | None, option: str) -> list[tuple[int, int]]:
    """``OLD=NEW`` class-id option values as integer pairs (ids are whole numbers >= 0)."""
    out = []
    for old, new in pairs(values, option):
        try:
            ids = (int(old), int(new))
        except ValueError:
            ids = (-1, -1)
        if min(ids) < 0:
            raise UsageError(
                f"{option} expects class ids OLD=NEW, whole numbers >= 0, got {old + '=' + new!r}"
            )
        out.append(ids)
    check_one_target(out, option)
    return out


def check_labels_out(args: argparse.Namespace) -> None:
    """Refuse, before any line is written, a ``--labels-out`` that would fail or clobber.

    The label file is written after the manifest: a missing folder would leave a manifest
    whose class ids no label file describes, and the same path as ``-o`` or the input would
    overwrite one with the other.
    """
    path = getattr(args, "labels_out", None)
    if not path:
        return
    if not os.path.isdir(os.path.dirname(path) or "."):
        raise UsageError(f"{path}: no such file or folder")
    for option, other in (("-o/--output", args.output), ("the input", args.input)):
        if other and other != "-" and os.path.abspath(other) == os.path.abspath(path):
            raise UsageError(f"--labels-out {path}: the same file as {option}")


def count_type(minimum: int) -> Callable[[str], int]:
    """Parse an option value: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    return parse


def unit_interval(text: str) -> float:
    """Parse an option value: a number in [0, 1] (a confidence); refuse NaN and infinities."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails every comparison
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def spooled_input(args: argparse.Namespace) -> str:
    """Input path for two-pass commands (stdin is copied to a temporary file)."""
    if args.input != "-":
        return str(args.input)
    fd, path = tempfile.mkstemp(prefix="gt-manifest-", suffix=".manifest")
    with os.fdopen(fd, "wb") as fh:
        shutil.copyfileobj(sys.stdin.buffer, fh)
    args._cleanup = path
    return path


def write_text(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)


def common_options(
    p: argparse.ArgumentParser,
    *,
    output_help: str = "output path (default: stdout)",
    input_help: str = "input manifest path ('-' for stdin; .gz is decompressed)",
) -> None:
    p.add_argument("input", help=input_help)
    p.add_argument("-o", "--output", default=None, help=output_help)
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default=None,
        help="invalid lines: stop with exit 1 (raise, the default) or drop and list them (skip)",
    )
    p.add_argument(
        "--max-errors",
        type=count_type(0),
        default=50,
        metavar="N",
        help="list at most N rejected lines (50)",
    )
    p.add_argument(
        "--max-line-length",
        type=count_type(1),
        default=MAX_LINE_LENGTH,
        metavar="N",
        help=f"reject lines longer than N characters (default {MAX_LINE_LENGTH})",
    )
    p.add_argument(
        "--normalize", action="store_true", help="re-serialise every line (compact JSON)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no accounting line on stderr")
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show a progress bar"
    )


def attribute_option(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument(
        "-a",
        "--attribute",
        required=required,
        help="label attribute to work on (default: the line's only label attribute)",
    )
