r"""Streaming reader and strict writer for JSON Lines manifests, and line accounting.

Reading is tolerant about the container (paths, ``-`` for stdin, ``.gz`` files, text or binary
file objects, any iterable of ``str`` or ``bytes`` lines; ``\n`` or ``\r\n``; a UTF-8 BOM; blank
lines, which are skipped and counted) and strict about the content: each line must be one
UTF-8 JSON object in strict JSON (``NaN`` and ``Infinity`` are rejected) of at most 100,000
characters (reference section 3.1).

Writing (:func:`write`, :class:`Writer`, :func:`dumps`; written in :mod:`manifests._writing`
and public here) is strict: compact JSON (``separators=(",", ":")``), UTF-8 as is
(``ensure_ascii=False``), one object per line, ``\n`` line ends. An unchanged record is written
back byte for byte from the line it was read from.

Every stage of a pipeline shares one :class:`Accounting`, so that in the end
``read == written + filtered + rejected``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from types import TracebackType
from typing import IO, Any, cast

from manifests._accounting import Accounting, OnError, Rejection
from manifests._values import quantity
from manifests._writing import Writer, dumps, write
from manifests.errors import ManifestError
from manifests.records import Record

__all__ = [
    "MAX_LINE_LENGTH",
    "Accounting",
    "OnError",
    "Reader",
    "Rejection",
    "Writer",
    "dumps",
    "read",
    "write",
]

MAX_LINE_LENGTH = 100_000
"""Longest line accepted by default (characters), the Ground Truth input-manifest limit."""


# -------------------------------------------------------------------------------------------------
# reading
# -------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):
        raise ValueError(f"{text} does not fit a double (it would be infinite)")
    return value


_INF = float("inf")
_decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
# the C scanner behind JSONDecoder.raw_decode, called directly to skip a Python-level wrapper
_scan_once: Callable[[str, int], tuple[Any, int]] = _decoder.scan_once  # type: ignore[attr-defined]
_JSON_WS = " \t\r\n"

# Optional accelerator (extra "fast"): orjson parses about 3x faster than the json module. It is
# strict RFC 8259, so anything it refuses (NaN, integers beyond 64 bits, ...) goes through the json
# module as before: what is accepted, what is rejected and the error messages do not change.
# orjson turns integers beyond 64 bits into floats silently, so a line with a run of 19 or more
# digits is always parsed by the json module (exact integers).
_fast_loads: Callable[[str], Any] | None
_FastError: type[Exception]
try:
    from orjson import JSONDecodeError as _FastError
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads, _FastError = None, ValueError
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_NINETEEN_DIGITS = b"0" * 19


def _long_number(text: str) -> bool:
    """Return whether ``text`` holds a run of 19 or more ASCII digits (10x faster than a regex).

    The reader inlines this test (a function call costs a tenth of a line's parse). On a file it
    opened, it runs the test once per block of lines (:data:`_BLOCK` characters): a run within
    the block is a run within one of its lines, since lines end in a line break.
    """
    return (
        text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO).find(_NINETEEN_DIGITS) >= 0
    )


#: Size hint of the blocks of lines read at once from a file the reader opened itself. Not
#: used for standard input or a caller's file object or iterable, where a line is handed on as
#: soon as it arrives.
_BLOCK = 1 << 16
#: Blocks read without the block test after one that failed it.
_SKIP_AFTER_LONG = 15


def _blocks(text: io.TextIOWrapper) -> Iterator[list[str]]:
    """Yield the lines of ``text`` in lists of about :data:`_BLOCK` characters."""
    while True:
        block = text.readlines(_BLOCK)
        if not block:
            return
        yield block


_new_record = dict.__new__
_dict_update = dict.update


def _describe_json_error(text: str, exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    return f"invalid JSON: {exc}"


def _not_utf8(text: str, exc: UnicodeEncodeError) -> str:
    char = text[exc.start]
    if "\udc80" <= char <= "\udcff":
        return f"not UTF-8 (invalid byte 0x{ord(char) - 0xDC00:02x} at column {exc.start + 1})"
    return f"not UTF-8 (lone surrogate U+{ord(char):04X} at column {exc.start + 1})"


#: What reading the input itself (not parsing a line) can raise: a truncated or corrupt
#: ``.gz`` file, an I/O error, text that a caller's text-mode file object cannot decode.
_UNREADABLE = (EOFError, OSError, UnicodeDecodeError, zlib.error)


def _unreadable(name: str, lineno: int, exc: BaseException) -> ManifestError:
    """Build the error that stops a reader whose input cannot be read any further."""
    where = f"beyond line {lineno}" if lineno else "its first line"
    if isinstance(exc, UnicodeDecodeError):
        try:
            byte = f" 0x{exc.object[exc.start]:02x}"
        except (IndexError, TypeError):  # pragma: no cover - a hand-made UnicodeDecodeError
            byte = ""
        detail = (
            f"not UTF-8 (invalid byte{byte}); the text-mode file object decodes the file "
            "itself: open it in binary mode to have such lines rejected one by one"
        )
    elif isinstance(exc, EOFError):
        detail = f"the compressed file is truncated ({exc})"
    else:
        detail = str(exc) or type(exc).__name__
    return ManifestError(f"{name}: cannot read {where}: {detail}")


class Reader:
    r"""Iterator of :class:`~manifests.records.Record` over the lines of a manifest.

    Returned by :func:`read`; see there. It closes the file it opened itself (when exhausted, on
    :meth:`close`, or at the end of a ``with`` block) and never a file object it was given.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "input.manifest")
    >>> with open(path, "w", encoding="utf-8") as fh:
    ...     _ = fh.write('{"source-ref": "s3://b/1.jpg"}\n\nnot json\n{"source-ref": "s3://b/2.jpg"}\n')
    >>> acc = Accounting(on_error="collect")
    >>> with Reader(path, accounting=acc) as reader:
    ...     [r["source-ref"] for r in reader]
    ['s3://b/1.jpg', 's3://b/2.jpg']
    >>> acc.summary()
    'read 3, written 0, filtered 0, rejected 1, blank 1'
    >>> acc.rejections[0].lineno, acc.rejections[0].reason
    (3, 'invalid JSON: Expecting value (column 1)')

    Stopping early: the ``with`` block closes the file, and lines not reached are not counted.

    >>> with read(path) as reader:
    ...     first = next(reader)
    >>> first.lineno, reader.accounting.read, reader.progress
    (1, 1, None)
    >>> folder.cleanup()
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | IO[Any] | Iterable[str] | Iterable[bytes],
        *,
        accounting: Accounting,
        name: str | None = None,
        max_line_length: int | None = MAX_LINE_LENGTH,
    ) -> None:
        self.accounting = accounting
        self.max_line_length = max_line_length
        self._owned: list[IO[Any]] = []  # closed by this reader, innermost first
        self._detach: io.TextIOWrapper | None = None  # wrapper over stdin: detached, not closed
        self._size: int | None = None
        self._stream: IO[bytes] | None = None
        self._file_blocks: Iterator[list[str]] | None = None
        lines: Iterable[str] | Iterable[bytes]
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if path == "-":
                self._detach = self._text(sys.stdin.buffer)
                lines = self._detach
                self.name = name or "<stdin>"
            else:
                raw = open(path, "rb")  # noqa: SIM115 - closed by close()
                self._owned.append(raw)
                self._stream = raw
                try:
                    self._size = os.fstat(raw.fileno()).st_size
                except OSError:  # pragma: no cover - exotic files
                    self._size = None
                binary: IO[bytes] = raw
                if path.endswith(".gz"):
                    binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
                    self._owned.append(binary)
                text = self._text(binary)
                self._owned.append(text)
                lines = text
                self._file_blocks = _blocks(text)
                self.name = name or path
        elif isinstance(source, (bytes, bytearray)):
            raise TypeError("read() takes a path, a file object or an iterable of lines, not bytes")
        else:
            lines = source
            default = getattr(source, "name", None)
            self.name = name or (default if isinstance(default, str) else "<lines>")
        self._lines = lines
        self._gen = self._records()

    @staticmethod
    def _text(binary: IO[bytes]) -> io.TextIOWrapper:
        # Bulk decoding is faster than decoding line by line; invalid bytes become lone
        # surrogates (surrogateescape), which the line check below rejects with their position.
        return io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline="\n")

    # iteration ------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Record]:
        return self._gen

    def __next__(self) -> Record:
        return next(self._gen)

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the file opened by this reader (if any)."""
        self._gen.close()
        self._release()

    def _release(self) -> None:
        while self._owned:
            self._owned.pop().close()
        if self._detach is not None:
            self._detach.detach()
            self._detach = None

    @property
    def progress(self) -> float | None:
        """Fraction of the input file consumed so far (None when the size is unknown)."""
        if self._stream is None or not self._size or self._stream.closed:
            return None
        try:
            return min(1.0, self._stream.tell() / self._size)
        except (OSError, ValueError):  # pragma: no cover - unseekable
            return None

    def _records(self) -> Generator[Record, None, None]:
        acc = self.accounting
        name = self.name
        max_len = self.max_line_length if self.max_line_length is not None else sys.maxsize
        scan = _scan_once
        fast = _fast_loads
        ws = _JSON_WS
        digits_as_zero = _DIGITS_AS_ZERO
        nineteen = _NINETEEN_DIGITS
        lineno = 0
        blocks: Iterable[Iterable[str] | Iterable[bytes]]
        if self._file_blocks is not None:
            blocks = self._file_blocks
        else:
            blocks = ((item,) for item in self._lines)  # type: ignore[misc]
        skip = 0  # blocks left to test line by line only, after a block with a long run
        try:
            for block in blocks:
                # No run of 19 digits in the whole block: no line of it needs the test below.
                # A file whose lines all have one (long numeric ids) would pay for both tests;
                # so after such a block, the next _SKIP_AFTER_LONG are tested line by line only.
                short = False
                if fast is not None and type(block) is list:
                    if skip:
                        skip -= 1
                    else:
                        short = (
                            "".join(block)
                            .encode("utf-8", "surrogatepass")
                            .translate(digits_as_zero)
                            .find(nineteen)
                            < 0
                        )
                        skip = 0 if short else _SKIP_AFTER_LONG
                for item in block:
                    lineno += 1
                    if type(item) is str:
                        text = item
                    elif type(item) is bytes:
                        text = item.decode("utf-8", "surrogateescape")
                    else:
                        raise TypeError(f"lines must be str or bytes, got {type(item).__name__}")
                    if lineno == 1 and text.startswith("\ufeff"):
                        text = text[1:]
                    text = text.strip(ws)
                    if not text:
                        acc.blank += 1
                        continue
                    acc.read += 1
                    if not text.isascii():
                        try:
                            text.encode("utf-8")
                        except UnicodeEncodeError as exc:
                            shown = text.encode("utf-8", "backslashreplace").decode("utf-8")
                            acc.reject(
                                name, lineno, "<line>", _not_utf8(text, exc), line=shown, cause=exc
                            )
                            continue
                    if len(text) > max_len:
                        acc.reject(
                            name,
                            lineno,
                            "<line>",
                            f"line has {quantity(len(text), 'character')}, more than the "
                            f"{max_len} allowed",
                            line=text,
                        )
                        continue
                    obj: Any = None  # a dict once parsed
                    # _long_number(text), inlined; text is valid UTF-8 here (checked above)
                    if fast is not None and (
                        short or text.encode().translate(digits_as_zero).find(nineteen) < 0
                    ):
                        try:
                            obj = fast(text)
                        except _FastError:
                            obj = None  # the json module decides, and explains
                    if type(obj) is not dict:
                        try:
                            obj, end = scan(text, 0)
                            if end != len(text):
                                raise ValueError("extra data after the JSON value")
                        except (StopIteration, ValueError, RecursionError) as exc:
                            error: BaseException = exc
                            try:
                                _decoder.decode(text)
                            except (ValueError, RecursionError) as exc2:
                                error = exc2
                            acc.reject(
                                name,
                                lineno,
                                "<line>",
                                _describe_json_error(text, error),
                                line=text,
                                cause=error,
                            )
                            continue
                        if type(obj) is not dict:
                            kind = "null" if obj is None else type(obj).__name__
                            acc.reject(
                                name,
                                lineno,
                                "<line>",
                                f"expected a JSON object, got {kind}",
                                line=text,
                            )
                            continue
                    rec = _new_record(Record)
                    _dict_update(rec, obj)
                    rec._raw = text
                    rec.source = name
                    rec.lineno = lineno
                    yield rec
        except _UNREADABLE as exc:  # raised by the input, never by the lines' checks above
            raise _unreadable(name, lineno, exc) from exc
        finally:
            self._release()


def read(
    source: str | os.PathLike[str] | IO[Any] | Iterable[str] | Iterable[bytes],
    on_error: OnError | None = None,
    *,
    accounting: Accounting | None = None,
    name: str | None = None,
    max_line_length: int | None = MAX_LINE_LENGTH,
) -> Reader:
    r"""Stream the records of a JSON Lines manifest.

    Parameters
    ----------
    source : path, ``"-"``, file object or iterable of lines
        A path (``.gz`` is decompressed; ``"-"`` is standard input), a text or binary file object,
        or any iterable of ``str``/``bytes`` lines (with or without line breaks). A ``str`` is
        always a path: to parse text, pass ``io.StringIO(text)`` (which splits on ``\n`` only;
        ``str.splitlines`` would also split on characters such as U+2028 inside JSON strings).
    on_error : {"raise", "skip", "collect"}, optional
        Policy for invalid lines (see :class:`Accounting`); default ``"raise"``, or the policy of
        ``accounting`` when one is given.
    accounting : Accounting, optional
        Counters to update (shared with the transforms and the writer of a pipeline). A new one
        is created otherwise; it is available as ``reader.accounting``.
    name : str, optional
        Source name used in messages (default: the path, ``<stdin>``, the file object's name or
        ``<lines>``).
    max_line_length : int or None
        Lines longer than this many characters are rejected (default 100,000, the Ground Truth
        limit); None accepts any length.

    Returns
    -------
    Reader
        An iterator of :class:`~manifests.records.Record`, usable as a context manager.

    Raises
    ------
    InvalidLineError
        With ``on_error="raise"``, at the first line that is not a UTF-8 JSON object.
    ManifestError
        Whatever ``on_error`` says, when the input itself cannot be read any further (a
        truncated or corrupt ``.gz`` file, an I/O error, a text-mode file object that cannot
        decode its bytes): the message names the source and the last line read, the original
        exception is chained, and the records before it have been yielded and counted.

    Examples
    --------
    >>> lines = ['\ufeff{"source-ref": "s3://b/a\u200b.jpg", "z": 1, "a": 2}', "",
    ...          '{"source": "t"}']
    >>> reader = read(lines)
    >>> [(r.lineno, list(r)) for r in reader]
    [(1, ['source-ref', 'z', 'a']), (3, ['source'])]
    >>> reader.accounting.read, reader.accounting.blank
    (2, 1)
    >>> next(iter(read(['{"x": NaN}'])))
    Traceback (most recent call last):
    ...
    manifests.errors.InvalidLineError: <lines>:1: <line>: invalid JSON: NaN is not valid JSON
    """
    if accounting is None:
        accounting = Accounting(on_error=on_error or "raise")
    elif on_error is not None and on_error != accounting.on_error:
        raise ValueError("give on_error either to read() or to the Accounting, not both")
    return Reader(source, accounting=accounting, name=name, max_line_length=max_line_length)
