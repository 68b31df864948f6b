r"""Streaming reader and strict writer for JSON Lines manifests, and line accounting.

Reading is tolerant about the container (paths, ``-`` for stdin, ``.gz`` files, text or binary
file objects, any iterable of ``str`` or ``bytes`` lines; ``\n`` or ``\r\n``; a UTF-8 BOM; blank
lines, which are skipped and counted) and strict about the content: each line must be one
UTF-8 JSON object in strict JSON (``NaN`` and ``Infinity`` are rejected) of at most 100,000
characters (reference section 3.1).

Writing is strict: compact JSON (``separators=(",", ":")``), UTF-8 as is (``ensure_ascii=False``),
one object per line, ``\n`` line ends. An unchanged record is written back byte for byte from the
line it was read from.

Every stage of a pipeline shares one :class:`Accounting`, so that in the end
``read == written + filtered + rejected``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from types import TracebackType
from typing import IO, Any, cast

from manifests._accounting import Accounting, OnError, Rejection
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


class Reader:
    """Iterator of :class:`~manifests.records.Record` over the lines of a manifest.

    Returned by :func:`read`; see there. It closes the file it opened itself (when exhausted, on
    :meth:`close`, or at the end of a ``with`` block) and never a file object it was given.
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
                            f"line has {len(text)} characters, more than the {max_len} allowed",
                            line=text,
                        )
                        continue
                    # _long_number(text), inlined; text is valid UTF-8 here (checked above)
                    if fast is not None and (
                        short or text.encode().translate(digits_as_zero).find(nineteen) < 0
                    ):
                        try:
                            obj = fast(text)
                        except _FastError:
                            pass  # the json module decides, and explains
                        else:
                            if type(obj) is dict:
                                rec = _new_record(Record)
                                _dict_update(rec, obj)
                                rec._raw = text
                                rec.source = name
                                rec.lineno = lineno
                                yield rec
                                continue
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
                            name, lineno, "<line>", f"expected a JSON object, got {kind}", line=text
                        )
                        continue
                    rec = _new_record(Record)
                    _dict_update(rec, obj)
                    rec._raw = text
                    rec.source = name
                    rec.lineno = lineno
                    yield rec
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


# -------------------------------------------------------------------------------------------------
# writing
# -------------------------------------------------------------------------------------------------

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_encode_ascii = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode
_encode_loose = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True).encode

# Optional accelerator for writing (extra "fast"): orjson.dumps is about 7x faster than the json
# encoder and writes the same compact text for plain JSON trees, with two differences that
# matter: it formats floats outside [1e-4, 1e16) differently (``1e16`` for ``1e+16``,
# ``0.00001`` for ``1e-05``) and it serialises objects the json module refuses (UUID, Enum
# members, NaN as ``null``). So its output is used only for a dict (or Record) that orjson
# accepted and whose tree holds nothing but str, int, bool, None, dict, list and floats in
# that range (:func:`_plain_tree`); everything else goes through the json encoder, which
# decides, and explains, as before.
_fast_dumps: Callable[[Any], bytes] | None
try:
    from orjson import dumps as _fast_dumps
except ImportError:  # pragma: no cover - depends on the environment
    _fast_dumps = None


def _plain_tree(obj: dict[str, Any]) -> bool:
    """Whether the values under ``obj`` are only plain JSON types, floats in [1e-4, 1e16) or 0.

    ``obj`` must be finite and less than 255 levels deep: callers check it with orjson first,
    which refuses deeper nesting and cycles. Keys are not checked (orjson refuses non-str keys).
    """
    return _plain_values(dict.values(obj))  # dict.values: obj may be a Record


def _plain_values(
    values: Iterable[Any],
    _str: Any = str,
    _int: Any = int,
    _float: Any = float,
    _dict: Any = dict,
    _list: Any = list,
    _bool: Any = bool,
) -> bool:
    # Recursive: a quarter faster than an explicit stack on manifest records.
    for value in values:
        kind = type(value)
        if kind is _str or kind is _int:
            continue
        if kind is _dict:
            if not _plain_values(value.values()):
                return False
        elif kind is _list:
            if not _plain_values(value):
                return False
        elif kind is _float:
            # where repr() writes the shortest digits in fixed notation, as orjson does;
            # NaN and infinities fail every comparison
            if not (1e-4 <= value < 1e16 or -1e16 < value <= -1e-4 or value == 0.0):
                return False
        elif value is not None and kind is not _bool:
            return False
    return True


def _fast_dumps_agrees() -> bool:
    """Check, once, that this orjson writes what the json encoder writes for plain trees."""
    if _fast_dumps is None:  # pragma: no cover - depends on the environment
        return False
    probe = {
        "s": '\x00\x1f\x7f"\\/\b\f\n\r\t\u2028\u2029\ufeff\xe9\U0001f600',
        "f": [0.0, -0.0, 1e-4, 0.1, 1.5, 164.60000000000002, 9999999999999998.0, -2.5e-4],
        "i": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1, True, False, None],
        "n": {"": {"a": []}, "b": [{}]},
    }
    try:
        return _fast_dumps(probe).decode("utf-8") == _encode(probe)
    except Exception:  # pragma: no cover - an orjson that cannot write the probe
        return False


if not _fast_dumps_agrees():  # pragma: no cover - depends on the orjson version
    _fast_dumps = None


def dumps(record: Any, *, strict: bool = True) -> str:
    r"""Serialise one record as a compact JSON line (no line break).

    Strings are kept as they are (``ensure_ascii=False``) except lone surrogates, which cannot be
    encoded in UTF-8 and are written as ``\u`` escapes (four hex digits). ``strict=False`` lets
    NaN through (only for error messages).

    Examples
    --------
    >>> dumps({"source-ref": "s3://b/é.jpg", "n": [1, 2.5]})
    '{"source-ref":"s3://b/é.jpg","n":[1,2.5]}'
    """
    kind = type(record)
    if (kind is dict or kind is Record) and _fast_dumps is not None:
        try:
            data = _fast_dumps(record)
        except Exception:  # any refusal: the json encoder decides, and explains
            pass
        else:
            if _plain_tree(record):
                if kind is Record and record:
                    # the json encoder reads a non-empty dict subclass through items(), which
                    # forgets the raw line (Record.items); do the same so both paths agree
                    record._raw = None
                return data.decode("utf-8")
    text: str = _encode(record) if strict else _encode_loose(record)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _encode_ascii(record)
    return text


def _is_text(stream: object) -> bool:
    return isinstance(stream, io.TextIOBase) or hasattr(stream, "encoding")


class _Sink:
    """Where :func:`write` sends lines: owns (and closes) only what it opened."""

    def __init__(self, target: str | os.PathLike[str] | IO[Any]) -> None:
        self._tmp: str | None = None
        self._final: str | None = None
        self._owned: IO[Any] | None = None
        self._wrapper: io.TextIOWrapper | None = None
        self._gzraw: IO[bytes] | None = None
        if isinstance(target, (str, os.PathLike)):
            path = os.fspath(target)
            if path == "-":
                sys.stdout.flush()
                buffer = getattr(sys.stdout, "buffer", None)
                if buffer is None:  # pragma: no cover - stdout replaced by a text-only object
                    self.stream: IO[str] = sys.stdout
                else:
                    self._wrapper = io.TextIOWrapper(buffer, encoding="utf-8", newline="\n")
                    self.stream = self._wrapper
            else:
                directory = os.path.dirname(os.path.abspath(path))
                fd, self._tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".manifest", dir=directory)
                self._final = path
                raw = os.fdopen(fd, "wb")
                self._owned = raw
                binary: IO[bytes] = raw
                if path.endswith(".gz"):
                    binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="wb", filename=""))
                    self._owned = binary
                    self._gzraw = raw
                self._wrapper = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
                self.stream = self._wrapper
        elif _is_text(target):
            self.stream = cast(IO[str], target)
        else:
            self._wrapper = io.TextIOWrapper(
                cast(IO[bytes], target), encoding="utf-8", newline="\n"
            )
            self.stream = self._wrapper

    def finish(self, ok: bool) -> None:
        wrapper, owned = self._wrapper, self._owned
        if wrapper is not None:
            if owned is None:  # a stream we were given (or stdout): leave it open
                if ok:
                    wrapper.flush()
                wrapper.detach()
            else:
                wrapper.close()  # closes the gzip layer / file we opened
                if self._gzraw is not None:
                    self._gzraw.close()
        if self._tmp is not None and self._final is not None:
            if ok:
                os.replace(self._tmp, self._final)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(self._tmp)


class Writer:
    """Push-style JSON Lines writer: ``writer.write(record)`` per record, then :meth:`close`.

    Same targets and rules as :func:`write` (which is built on it). Used as a context manager,
    a path target is renamed into place only when the block ends without an exception.

    Examples
    --------
    >>> out = io.StringIO()
    >>> with Writer(out) as w:
    ...     ok = w.write({"source": "a"})
    ...     ok = w.write(Record({"source": "b"}, raw='{"source": "b"}'))
    >>> print(out.getvalue(), end="")
    {"source":"a"}
    {"source": "b"}
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[Any],
        *,
        accounting: Accounting | None = None,
        verbatim: bool = True,
    ) -> None:
        self.accounting = accounting if accounting is not None else Accounting()
        self.verbatim = verbatim
        self.count = 0
        self._sink = _Sink(target)
        self._buf: list[str] = []
        self._closed = False

    def write(self, record: Record | dict[str, Any]) -> bool:
        """Queue one record; False when it could not be serialised (and was rejected)."""
        raw = record._raw if self.verbatim and type(record) is Record else None
        if raw is None:
            try:
                raw = dumps(record)
            except (ValueError, TypeError, RecursionError) as exc:
                reason = f"cannot be written as JSON: {exc}"
                if isinstance(record, Record):
                    self.accounting.reject_record(record, "<record>", reason, exc)
                else:
                    self.accounting.reject("<memory>", 0, "<record>", reason, cause=exc)
                return False
        buf = self._buf
        buf.append(raw)
        if len(buf) >= 512:
            self._flush()
        return True

    def _flush(self) -> None:
        buf = self._buf
        if buf:
            n = len(buf)
            buf.append("")
            self._sink.stream.write("\n".join(buf))
            buf.clear()
            self.count += n
            self.accounting.written += n

    def close(self, ok: bool = True) -> None:
        """Flush and finish; ``ok=False`` discards a path target's temporary file."""
        if self._closed:
            return
        self._closed = True
        try:
            if ok:
                self._flush()
        except BaseException:
            self._sink.finish(False)
            raise
        self._sink.finish(ok)

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(ok=exc_type is None)


def write(
    records: Iterable[Record | dict[str, Any]],
    target: str | os.PathLike[str] | IO[Any],
    *,
    accounting: Accounting | None = None,
    verbatim: bool = True,
) -> int:
    """Write records as JSON Lines.

    Parameters
    ----------
    records : iterable of Record or dict
        What to write. A :class:`~manifests.records.Record` that still holds its raw line is
        copied verbatim (unless ``verbatim=False``); everything else is serialised with
        :func:`dumps`.
    target : path, ``"-"`` or file object
        A path (written through a temporary file in the same folder and renamed into place when
        everything went well, so a failed run leaves no partial file; ``.gz`` is compressed),
        ``"-"`` for standard output, or a text or binary file object (left open).
    accounting : Accounting, optional
        ``written`` is incremented per line; a record that cannot be serialised (NaN, a
        non-JSON type) is rejected through it (raising by default).
    verbatim : bool
        Copy unmodified lines as read (default). False re-serialises every record compactly.

    Returns
    -------
    int
        Number of lines written.

    Examples
    --------
    >>> out = io.StringIO()
    >>> write(read(['{"source-ref": "s3://b/1.jpg",  "k": 1}', '{"a":{"b":[]}}']), out)
    2
    >>> print(out.getvalue(), end="")
    {"source-ref": "s3://b/1.jpg",  "k": 1}
    {"a":{"b":[]}}
    >>> out = io.StringIO()
    >>> write(read(['{"source-ref": "s3://b/1.jpg",  "k": 1}']), out, verbatim=False)
    1
    >>> print(out.getvalue(), end="")
    {"source-ref":"s3://b/1.jpg","k":1}
    """
    with Writer(target, accounting=accounting, verbatim=verbatim) as writer:
        put = writer.write
        for rec in records:
            put(rec)
    return writer.count
