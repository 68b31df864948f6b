r"""The strict writer of JSON Lines manifests: :func:`write`, :class:`Writer` and :func:`dumps`.

Compact JSON (``separators=(",", ":")``), UTF-8 as is (``ensure_ascii=False``), one object per
line, ``\n`` line ends. An unchanged record is written back byte for byte from the line it was
read from. Public through :mod:`manifests.io` and :mod:`manifests`.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import IO, Any, cast

from manifests._accounting import Accounting, shown_record
from manifests.records import Record

__all__ = ["Writer", "dumps", "open_output", "stdout_text", "write"]


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
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
    encoded in UTF-8: each is written as a ``\u`` escape (four hex digits), and the rest of the
    line stays as it is. ``strict=False`` lets NaN through (only for error messages).
    Serialising only reads: a :class:`~manifests.records.Record` keeps its raw line.

    Examples
    --------
    >>> dumps({"source-ref": "s3://b/é.jpg", "n": [1, 2.5]})
    '{"source-ref":"s3://b/é.jpg","n":[1,2.5]}'
    >>> print(dumps({"a": "\ud83d", "b": "é"}))
    {"a":"\ud83d","b":"é"}
    """
    kind = type(record)
    if (kind is dict or kind is Record) and _fast_dumps is not None:
        try:
            data = _fast_dumps(record)
        except Exception:  # any refusal: the json encoder decides, and explains
            pass
        else:
            if _plain_tree(record):
                return data.decode("utf-8")
    if kind is Record:
        # the json encoder reads a dict subclass through items(), which would forget the raw
        # line (Record.items); a plain copy (made without items()) leaves the record as it is
        record = dict(record)
    text: str = _encode(record) if strict else _encode_loose(record)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, only inside JSON strings: escape them
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def open_output(path: str | os.PathLike[str]) -> tuple[IO[bytes], Callable[[bool], None]]:
    r"""Open ``path`` to replace its content, atomically when it is (or will be) a regular file.

    A regular file (or a new one) is written through a temporary file of its own in the same
    folder, renamed over it by ``finish(True)``: a failed write leaves the old file whole and
    two writers at once leave one whole file or the other. The result looks as if the file had
    been rewritten in place (as a shell's ``>`` would): an existing file keeps its permission
    bits, a new file gets ``0o666`` less the umask (the operating system applies it when the
    temporary file is created, so the umask is never changed or read), and a symbolic link
    stays a link: the file it points to is replaced. Anything else that exists at ``path`` (a
    FIFO, a device such as ``/dev/null``, a socket) is opened and written directly, never
    replaced.

    Parameters
    ----------
    path : str or path-like
        The file to write.

    Returns
    -------
    file : binary file object
        Where to write the new content.
    finish : callable
        ``finish(ok)`` closes ``file`` and, for a temporary file, renames it into place when
        ``ok`` is true or removes it otherwise. Call it exactly once, also on failure.

    Raises
    ------
    IsADirectoryError, FileNotFoundError, PermissionError
        Naming ``path`` (not the temporary file) when ``path`` is a folder or cannot be created.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "out.manifest")
    >>> fh, finish = open_output(path)
    >>> n = fh.write(b'{"source":"a"}\n')
    >>> finish(True)
    >>> open(path, "rb").read(), os.listdir(folder)
    (b'{"source":"a"}\n', ['out.manifest'])
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    real = os.path.realpath(path)  # the file a symbolic link points to (written, not replaced)
    try:
        mode: int | None = os.stat(real).st_mode
    except OSError:  # a new file (or a missing folder, reported below)
        mode = None
    if mode is not None and not stat.S_ISREG(mode):  # FIFO, device, socket: write into it
        direct = open(path, "wb")  # noqa: SIM115 - closed by finish()

        def finish_direct(ok: bool) -> None:
            direct.close()

        return direct, finish_direct
    directory, base = os.path.split(real)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".tmp-{base[:80]}.{secrets.token_hex(6)}")
        try:
            # 0o666 less the umask for a new file, as open(path, "w") would create it
            fd = os.open(tmp, flags, 0o600 if mode is not None else 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits taken
            continue
        except OSError as exc:  # name the user's path, not the temporary file
            if not os.path.isdir(directory):
                raise FileNotFoundError(errno.ENOENT, f"no such folder {directory}", path) from exc
            raise type(exc)(exc.errno, exc.strerror, path) from exc
        break
    try:
        if mode is not None:
            if os.chmod in os.supports_fd:
                os.chmod(fd, stat.S_IMODE(mode))
            else:  # pragma: no cover - Windows
                os.chmod(tmp, stat.S_IMODE(mode))
        file = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise

    def finish(ok: bool) -> None:
        try:
            file.close()
            if ok:
                os.replace(tmp, real)
                return
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):
            os.unlink(tmp)

    return file, finish


def stdout_text(newline: str) -> tuple[io.TextIOWrapper, Callable[[], None]]:
    """Return a UTF-8 text stream on standard output and ``release()``, which leaves it open.

    Under ``python -u`` or ``PYTHONUNBUFFERED``, ``sys.stdout.buffer`` is the raw file: its
    ``write`` may take only part of the bytes (the reader of a pipe went away, a signal) and say
    so only in the count it returns, which a text wrapper ignores, so the rest would be lost
    without an error. It then gets a buffered writer of its own, which writes the rest or raises
    (``BrokenPipeError``). ``release()`` flushes and detaches both, never closing stdout.
    """
    buffer: IO[bytes] = sys.stdout.buffer
    own: io.BufferedWriter | None = None
    if isinstance(buffer, io.RawIOBase):
        buffer = own = io.BufferedWriter(buffer)
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8", newline=newline)

    def release() -> None:
        wrapper.detach()  # flushes
        if own is not None:
            own.detach()  # flushes; the raw file stays open

    return wrapper, release


def _is_text(stream: object) -> bool:
    return isinstance(stream, io.TextIOBase) or hasattr(stream, "encoding")


class _Sink:
    """Where :func:`write` sends lines: owns (and closes) only what it opened."""

    def __init__(self, target: str | os.PathLike[str] | IO[Any]) -> None:
        self._finish: Callable[[bool], None] | None = None
        self._owned: IO[Any] | None = None
        self._wrapper: io.TextIOWrapper | None = None
        self._release: Callable[[], None] | None = None
        if isinstance(target, (str, os.PathLike)):
            path = os.fspath(target)
            if path == "-":
                sys.stdout.flush()
                if getattr(sys.stdout, "buffer", None) is None:  # pragma: no cover - text only
                    self.stream: IO[str] = sys.stdout
                else:
                    self._wrapper, self._release = stdout_text("\n")
                    self.stream = self._wrapper
            else:
                binary, self._finish = open_output(path)
                self._owned = binary
                if path.endswith(".gz"):
                    binary = cast(IO[bytes], gzip.GzipFile(fileobj=binary, mode="wb", filename=""))
                    self._owned = binary
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
        wrapper, owned, finish = self._wrapper, self._owned, self._finish
        try:
            if wrapper is not None:
                if owned is None:  # a stream we were given (or stdout): leave it open
                    if ok:
                        wrapper.flush()
                    if self._release is not None:
                        self._release()
                    else:
                        wrapper.detach()
                else:
                    wrapper.close()  # closes the gzip layer (not the file under it)
        except BaseException:
            if finish is not None:
                finish(False)
            raise
        if finish is not None:
            finish(ok)  # closes the file; renames or removes a temporary one


#: Records queued by a :class:`Writer` before they are handed to its stream in one write.
_BATCH = 512


class Writer:
    r"""Push-style JSON Lines writer: ``writer.write(record)`` per record, then :meth:`close`.

    Same targets and rules as :func:`write` (which is built on it). Used as a context manager,
    a path target is renamed into place only when the block ends without an exception.

    Records are queued and handed to the target stream 512 at a time (much faster than one
    by one); ``count`` and ``accounting.written`` grow when a batch is handed on, and at
    :meth:`flush` and :meth:`close`. With ``line_buffered=True`` each record is handed on and
    the stream flushed as :meth:`write` returns, so both counts are up to date after every
    record and a reader at the other end of a pipe sees every line at once.

    Examples
    --------
    >>> out = io.StringIO()
    >>> with Writer(out) as w:
    ...     ok = w.write({"source": "a"})
    ...     ok = w.write(Record({"source": "b"}, raw='{"source": "b"}'))
    >>> print(out.getvalue(), end="")
    {"source":"a"}
    {"source": "b"}
    >>> w = Writer(out := io.StringIO(), line_buffered=True)
    >>> ok = w.write({"source": "c"})
    >>> out.getvalue(), w.count, w.accounting.written
    ('{"source":"c"}\n', 1, 1)
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[Any],
        *,
        accounting: Accounting | None = None,
        verbatim: bool = True,
        line_buffered: bool = False,
    ) -> None:
        self.accounting = accounting if accounting is not None else Accounting()
        self.verbatim = verbatim
        self.line_buffered = line_buffered
        self.count = 0
        self._sink = _Sink(target)
        self._buf: list[str] = []
        self._batch = 1 if line_buffered else _BATCH
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
                    line = shown_record(record)
                    self.accounting.reject("<memory>", 0, "<record>", reason, line=line, cause=exc)
                return False
        buf = self._buf
        buf.append(raw)
        if len(buf) >= self._batch:
            self._flush()
        return True

    def _flush(self) -> None:
        buf = self._buf
        if buf:
            n = len(buf)
            buf.append("")
            stream = self._sink.stream
            stream.write("\n".join(buf))
            buf.clear()
            self.count += n
            self.accounting.written += n
            if self.line_buffered:
                stream.flush()

    def flush(self) -> None:
        """Hand the queued records to the target stream and flush it (counting them written)."""
        if self._closed:
            return
        self._flush()
        self._sink.stream.flush()

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
    line_buffered: bool = False,
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
        ``"-"`` for standard output, or a text or binary file object (left open). A path is
        replaced as if rewritten in place (:func:`open_output`): an existing file keeps its
        permission bits, a new one gets ``0o666`` less the umask, a symbolic link stays a link
        to the new file, and a FIFO or device (``/dev/null``) is written into, not replaced.
    accounting : Accounting, optional
        ``written`` counts the lines handed to the target (see ``line_buffered``); a record
        that cannot be serialised (NaN, a non-JSON type, nesting too deep) is rejected through
        it (raising :class:`~manifests.errors.InvalidLineError` by default) and the next one is
        written.
    verbatim : bool
        Copy unmodified lines as read (default). False re-serialises every record compactly.
    line_buffered : bool
        Hand every line to the target and flush it as soon as its record arrives, instead of
        512 lines at a time (the default, faster): for a pipeline that streams records as they
        come (``tail -f ... | gt-manifest ...``), so that the next program sees each line at
        once and ``accounting.written`` is up to date after every record. The writer cannot
        know whether its records arrive one by one: the caller asks for it.

    Returns
    -------
    int
        Number of lines written.

    Examples
    --------
    >>> from manifests.io import read
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
    with Writer(
        target, accounting=accounting, verbatim=verbatim, line_buffered=line_buffered
    ) as writer:
        put = writer.write
        for rec in records:
            put(rec)
    return writer.count
