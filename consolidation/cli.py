"""``gt-consolidate``: consolidate crowd annotations from the shell.

Commands: ``demo`` (the bundled Ground Truth job), ``classify``, ``multilabel``, ``boxes``,
``workers``, ``simulate``, ``evaluate`` and ``lambda``. Every command reads a path or ``-``
(stdin), writes ``-o PATH`` or stdout, prints one line of accounting on stderr, shows a progress
bar on long inputs when stderr is a terminal, and exits 0 (success), 1 (invalid input: the
message is ``file:line: field: reason``) or 2 (usage error).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from manifests._cli_util import count_type, run_command

from ._cli_io import PROG, InputError, UsageError, err
from ._errors import AnnotationError, InvalidParameterError
from ._methods import METHODS

__all__ = ["build_parser", "main"]

_EXIT = "Exit status: 0 ok, 1 invalid input (file:line: field: reason), 2 usage error."
_RAW = argparse.RawDescriptionHelpFormatter


def _epilog(*examples: str) -> str:
    return "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + _EXIT


_INPUT_HELP = (
    "answers: a .csv (item,worker,label), a .jsonl of answer rows, a consolidation-request "
    "payload (.json, .json.gz) or a worker-response folder; '-' for stdin"
)


def _io_options(p: argparse.ArgumentParser, *, classes: bool = True) -> None:
    p.add_argument("input", help=_INPUT_HELP)
    p.add_argument("-o", "--output", default="-", help="output path (default: stdout)")
    if classes:
        p.add_argument(
            "--classes",
            help="class names in class-id order: a,b,c, a label-category JSON file "
            '({"labels": [{"label": ...}]}) or a JSON list file (default: the labels seen, sorted)',
        )
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="unusable answers: stop with exit 1 (raise, the default) or drop and list them",
    )
    p.add_argument(
        "--max-errors", type=int, default=50, metavar="N", help="list at most N rejections (50)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no accounting line on stderr")
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show a progress bar"
    )


def _method_option(p: argparse.ArgumentParser, default: str = "default") -> None:
    p.add_argument(
        "-m",
        "--method",
        choices=list(METHODS),
        default=default,
        help="; ".join(f"{k}: {v}" for k, v in METHODS.items()) + f" (default {default})",
    )
    _jobs_option(p)


def _jobs_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="threads that fit the default method's settings: -1 (the default) uses every CPU "
        "this process may run on, 1 fits them one after the other with less memory; the "
        "results are the same (other methods fit one model and ignore it)",
    )


def _jobs(text: str) -> int:
    value = _int(text)
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(f"expected -1 or an integer >= 1, got {value}")
    return value


def _manifest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("csv", "manifest"),
        default="csv",
        help="csv (default) or output-manifest lines (needs --manifest and --attribute)",
    )
    p.add_argument(
        "--manifest",
        metavar="INPUT.manifest",
        help="the job's input manifest: every line is kept, consolidated objects get a label "
        "(object id = 0-based line number)",
    )
    p.add_argument("-a", "--attribute", help="label attribute name for --format manifest")
    p.add_argument(
        "--job-name", help="job name (or labeling-job ARN) for the metadata (default: attribute)"
    )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``gt-consolidate``."""
    from ._cli_classify import cmd_classify, cmd_evaluate, cmd_workers
    from ._cli_demo import cmd_demo
    from ._cli_tasks import cmd_boxes, cmd_lambda, cmd_multilabel, cmd_simulate

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Consolidate crowd annotations (SageMaker Ground Truth and others) offline.",
        epilog=_epilog(
            f"{PROG} demo",
            f"{PROG} classify answers.csv --method mds > labels.csv",
            f"{PROG} evaluate answers.csv --gold gold.csv",
        ),
        formatter_class=_RAW,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "demo",
        help="consolidate the bundled Ground Truth job and compare with the service",
        description="Consolidate a real, bundled Ground Truth image-classification job (302 "
        "bird images, 5 workers each) with majority vote, Dawid-Skene, AWS Modified "
        "Dawid-Skene and the default method; compare with the gold labels and with the "
        "labels the real service produced; replay it through the Lambda handler in its two "
        "batches with worker state; write an output manifest.",
        epilog=_epilog(f"{PROG} demo", f"{PROG} demo -o /tmp/birds.manifest"),
        formatter_class=_RAW,
    )
    p.add_argument(
        "-o",
        "--output",
        default="birds-output.manifest",
        help="output manifest path (default ./birds-output.manifest)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no timing line on stderr")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "classify",
        help="single-label answers -> label and confidence per item",
        description="Consolidate single-label (classification) answers.",
        epilog=_epilog(
            f"{PROG} classify answers.csv --method mds",
            f"{PROG} classify batch2.json --state workers.json --classes classes.json",
            f"{PROG} classify answers.csv --calibrate audited-gold.csv > labels.csv",
            f"{PROG} classify answers.csv --class-mix audited-gold.csv > labels.csv",
            f"{PROG} classify worker-response/ --format manifest --manifest input.manifest "
            "-a birds -o output.manifest",
        ),
        formatter_class=_RAW,
    )
    _io_options(p)
    _method_option(p)
    p.add_argument(
        "--state",
        metavar="PATH",
        help="worker-state JSON: read before fitting when it exists (warm start), written after",
    )
    temper = p.add_mutually_exclusive_group()
    temper.add_argument(
        "--calibrate",
        metavar="GOLD.csv",
        help="gold labels (item,label) of some items: temper every confidence with the "
        "temperature that calibrates them (labels do not change)",
    )
    temper.add_argument(
        "--self-calibrate",
        action="store_true",
        help="no gold: temper every confidence with the temperature that best predicts each "
        "answer from the item's other answers (method default; labels do not change)",
    )
    p.add_argument(
        "--class-mix",
        metavar="GOLD.csv",
        help="gold labels (item,label) of a sample of items: hold the class mix they show fixed "
        "(counts + 0.5 per class) instead of learning it from the answers (method default)",
    )
    p.add_argument(
        "--drop-copies",
        action="store_true",
        help="fit, remove the answers that near-exact copies of another worker repeat "
        "(quality.drop_copies), fit again (methods with confusion matrices; not with --state)",
    )
    p.add_argument("--max-confidence", type=float, metavar="X", help="cap confidences (0.95 = AWS)")
    _manifest_options(p)
    p.add_argument("--text", action="store_true", help="manifest type text-classification")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser(
        "multilabel",
        help="multi-label answers -> labels and a confidence per label",
        description="Consolidate multi-label answers: one binary consolidation per class.",
        epilog=_epilog(
            f"{PROG} multilabel payload.json",
            f"{PROG} multilabel answers.jsonl --output-rule threshold --threshold 0.6",
        ),
        formatter_class=_RAW,
    )
    _io_options(p)
    _method_option(p)
    p.add_argument(
        "--output-rule",
        choices=("union", "threshold"),
        default="union",
        help="union: every class some worker picked (AWS); threshold: posterior >= --threshold",
    )
    p.add_argument("--threshold", type=float, help="for --output-rule threshold (default 0.5)")
    _manifest_options(p)
    p.add_argument("--text", action="store_true", help="manifest type text-classification")
    p.set_defaults(func=cmd_multilabel)

    p = sub.add_parser(
        "boxes",
        help="bounding boxes -> fused boxes with confidence and support",
        description="Consolidate bounding boxes: match boxes across workers per image and class "
        "(IoU), fuse each cluster, confidence = summed IoU with the fused box / workers.",
        epilog=_epilog(
            f"{PROG} boxes payload.json",
            f"{PROG} boxes answers.jsonl --min-votes 2 --fusion median",
        ),
        formatter_class=_RAW,
    )
    _io_options(p)
    p.add_argument("--iou-threshold", type=float, default=0.5, help="match threshold (0.5)")
    p.add_argument("--min-votes", type=_positive_int, default=1, help="drop smaller clusters (1)")
    p.add_argument("--fusion", choices=("mean", "median"), default="mean", help="(mean)")
    p.add_argument("--max-confidence", type=float, metavar="X", help="cap confidences")
    _manifest_options(p)
    p.set_defaults(func=cmd_boxes)

    p = sub.add_parser(
        "workers",
        help="worker-quality report of a fitted method",
        description="Fit a method on single-label answers and print one row per worker: "
        "answers given, agreement with the consolidated labels and estimated accuracy, "
        "worst first.",
        epilog=_epilog(
            f"{PROG} workers answers.csv --top 10",
            f"{PROG} workers answers.csv --csv workers.csv --png confusions.png",
        ),
        formatter_class=_RAW,
    )
    _io_options(p)
    _method_option(p)
    p.add_argument("--top", type=_positive_int, metavar="N", help="print only the first N rows")
    p.add_argument("--csv", metavar="PATH", help="also write the full report as CSV")
    p.add_argument("--png", metavar="PATH", help="plot confusion matrices (needs matplotlib)")
    p.add_argument(
        "--copying",
        metavar="PATH",
        help="also write the pairs of workers who agree far more often than independent workers "
        "would, as CSV (quality.copying_pairs)",
    )
    p.set_defaults(func=cmd_workers)

    p = sub.add_parser(
        "simulate",
        help="write a simulated classification crowd (answers CSV, truth CSV)",
        description="Simulate workers answering a classification task with known truth.",
        epilog=_epilog(
            f"{PROG} simulate -o answers.csv --truth gold.csv --seed 1",
            f"{PROG} simulate --n-items 1000 --worker-mix reliable=0.7,spammer=0.3 -o a.csv",
            f"{PROG} simulate --copiers 1 --copied 0.3 --fidelity 0.9 -o a.csv  # correlated",
        ),
        formatter_class=_RAW,
    )
    p.add_argument("-o", "--output", default="-", help="answers CSV (default: stdout)")
    p.add_argument("--truth", metavar="PATH", help="also write the true labels (item,label)")
    p.add_argument("--n-items", type=_positive_int, default=200, help="(200)")
    p.add_argument("--n-workers", type=_positive_int, default=20, help="(20)")
    p.add_argument("--n-classes", type=_positive_int, default=None, help="(3)")
    p.add_argument("--classes", help="class names a,b,c (sets the number of classes)")
    p.add_argument("--answers-per-item", type=_positive_int, default=5, help="(5)")
    p.add_argument(
        "--worker-mix",
        metavar="KIND=FRAC,...",
        help="e.g. reliable=0.7,spammer=0.3; kinds: perfect, reliable, sloppy, spammer, hammer, "
        "adversarial, confuser (default: a realistic mix)",
    )
    p.add_argument("--heavy-tailed", action="store_true", help="a few workers give most answers")
    p.add_argument(
        "--copiers",
        type=_positive_int,
        metavar="N",
        help="give workers N copiers each, who answer their items as they do: answers that are "
        "not independent (simulate.add_copiers)",
    )
    p.add_argument(
        "--copied", type=float, metavar="FRAC", help="share of the workers who get copiers (1.0)"
    )
    p.add_argument(
        "--fidelity",
        type=float,
        metavar="P",
        help="probability that a copier repeats the answer, else a random class (1.0)",
    )
    p.add_argument("--seed", type=int, default=0, help="(0)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "evaluate",
        help="accuracy (and calibration) of several methods against gold labels",
        description="Fit each method on the same answers and score it against gold labels.",
        epilog=_epilog(
            f"{PROG} evaluate answers.csv --gold gold.csv",
            f"{PROG} evaluate answers.csv --gold gold.csv --methods mv,mds",
        ),
        formatter_class=_RAW,
    )
    _io_options(p)
    p.add_argument("--gold", required=True, metavar="PATH", help="gold CSV: item,label")
    p.add_argument(
        "--methods",
        help="comma-separated methods (default mv,ds,mds,default)",
    )
    _jobs_option(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "lambda",
        help="run the post-annotation Lambda handler on a local event file",
        description="Run consolidation.lambda_handler.handler on an event JSON file. "
        "payload.s3Uri may be a local path (relative to the event file), a file:// URI or an "
        "s3:// URI (needs boto3); an inline payload list works too. Flags override the "
        "CONSOLIDATION_* environment variables.",
        epilog=_epilog(
            f"{PROG} lambda event.json",
            f"{PROG} lambda event.json --method mds --state workers.json -o response.json",
        ),
        formatter_class=_RAW,
    )
    p.add_argument("event", help="event JSON file ('-' for stdin)")
    p.add_argument("-o", "--output", default="-", help="response JSON path (default: stdout)")
    p.add_argument("--task", choices=("auto", "classification", "multilabel", "boxes"))
    p.add_argument("--method", choices=list(METHODS))
    p.add_argument(
        "--output-format",
        dest="output_format",
        choices=("builtin", "custom"),
        help="builtin: label + metadata as the built-in tasks; custom: a self-describing value",
    )
    p.add_argument("--state", metavar="PATH", help="worker-state file (CONSOLIDATION_STATE)")
    p.add_argument(
        "--indent", type=count_type(0), default=2, help="JSON indentation (2; 0 = one line)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no accounting line on stderr")
    p.set_defaults(func=cmd_lambda)
    return parser


#: Options that name a file the command writes; the first two may be ``-`` (standard output).
_OUTPUTS = ("output", "truth", "csv", "copying", "png", "state")
_STDOUT_OK = ("output", "truth", "csv", "copying")


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before any work, outputs that would fail or clobber another file.

    A folder that does not exist, two outputs (or an output and an input) that name the same
    file, ``-`` (standard output) for more than one output or for a binary file. Without this a
    command could write its answers and then fail on its truth file, or write over its input.
    """
    taken: dict[str, str] = {}
    for name in ("input", "manifest"):
        path = getattr(args, name, None)
        if isinstance(path, str) and path != "-" and os.path.exists(path):
            taken[os.path.realpath(path)] = "the input" if name == "input" else "--manifest"
    to_stdout: list[str] = []
    for name in _OUTPUTS:
        path = getattr(args, name, None)
        if not isinstance(path, str) or "://" in path:  # unset, or an s3:// state
            continue
        flag = "-o/--output" if name == "output" else f"--{name}"
        if path == "-":
            if name not in _STDOUT_OK:
                raise UsageError(f"{flag} -: give a file path")
            to_stdout.append(flag)
            continue
        if not os.path.isdir(os.path.dirname(path) or "."):
            raise UsageError(f"{path}: no such file or folder")
        real = os.path.realpath(path)
        if real in taken:
            raise UsageError(f"{flag} {path}: the same file as {taken[real]}")
        taken[real] = flag
    if len(to_stdout) > 1:
        raise UsageError(f"{' and '.join(to_stdout)} both name standard output (-)")


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    check_outputs(args)
    try:
        return int(args.func(args))
    except InvalidParameterError as exc:  # the user's option, in the user's words
        flag = "--" + exc.name.replace("_", "-")
        if any(a == flag or a.startswith(flag + "=") for a in argv):
            raise UsageError(f"{flag} {exc.value}: expected {exc.allowed}") from exc
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gt-consolidate`` with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name.

    Returns
    -------
    int
        0 on success, 1 on invalid input, 2 on a usage error.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "simulate":
        args.n_classes_given = args.n_classes is not None
        if args.n_classes is None:
            args.n_classes = 3
    return run_command(
        lambda: _run(args, argv),
        err,
        invalid=(InputError, AnnotationError),
        usage=(InvalidParameterError,),
    )


if __name__ == "__main__":
    raise SystemExit(main())
