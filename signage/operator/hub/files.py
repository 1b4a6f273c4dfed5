"""The hub's WSGI application: the files of ``DIR/public``, read-only, with HTTP validators and caching.

Only three folders are served: ``metadata/`` (TUF metadata), ``targets/`` (hash-prefixed target files)
and ``photos/`` (content-addressed JPEGs). The private keys live in ``DIR/keys``, next to ``public``,
so the first line of defence is that this application is only ever given ``DIR/public``; the second is
that every request path is checked before anything is opened:

- the server has already percent-decoded ``PATH_INFO`` (PEP 3333), so ``%2e%2e`` arrives as ``..``
  and is refused like a literal one; nothing is decoded twice;
- ``..``, empty components, backslashes, NUL and any component starting with ``.`` (the temporary
  files of :func:`signage.core.fsutil.atomic_write` are ``.name.XXXX.tmp``) are refused;
- the path is resolved through symbolic links, and the resolved path must pass the same checks
  inside ``public_dir``; the last component is opened with ``O_NOFOLLOW``;
- anything but a regular file (directories above all: there are no listings) is "not found".

Every response is built from ``fstat`` of the descriptor actually opened, never from an earlier
``stat`` of the name, and the body is streamed from that descriptor. A file replaced atomically while
it is being sent therefore keeps streaming the old content with the old length, and the next request
sees the new one. Refused and missing paths answer the same short 404, so a probe learns nothing
about what exists outside the served folders; only a file that exists but cannot be read is a 500.
"""

from __future__ import annotations

import email.utils
import errno
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from signage.core.errors import ConfigError

logger = logging.getLogger(__name__)

#: The only top-level folders of ``DIR/public`` that are ever served.
SERVED_FOLDERS: Final = frozenset({"metadata", "targets", "photos"})
#: What may be cached forever: content-addressed or version-prefixed, so a new content is a new name.
IMMUTABLE: Final = "public, max-age=31536000, immutable"
#: What must be revalidated on every use: ``timestamp.json`` is replaced every hour, and a cached stale
#: copy would hold every screen back (TUF freshness), so caches may keep it only with an ETag check.
REVALIDATE: Final = "no-cache"
#: Read size when the server offers no ``wsgi.file_wrapper``; targets and photos reach 20 MB.
CHUNK_BYTES: Final = 64 * 1024
ALLOWED_METHODS: Final = ("GET", "HEAD")

# With consistent snapshots every "<version>.<role>.json" (root, targets, snapshot, and delegated roles
# should a repository ever use them) is written once and never changed: TUF specification, section 6.
_VERSIONED_METADATA: Final = re.compile(r"[0-9]+\.[^/]+\.json")
_NOT_FOUND_BODY: Final = b"not found\n"
_NOT_ALLOWED_BODY: Final = b"method not allowed\n"
_ERROR_BODY: Final = b"internal error\n"
_TEXT_HEADERS: Final = (("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", REVALIDATE))
# errno values that mean "no such file here", whatever raced with us: a name removed, a component
# that is not a directory, or a symbolic link swapped in after the name was resolved (O_NOFOLLOW).
# ENAMETOOLONG: a component over the file system's 255 bytes names nothing that can exist here (issue 14).
_NOT_FOUND_ERRNOS: Final = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENXIO, errno.ENAMETOOLONG}
)
#: Characters of a request's path that a log line keeps: a hostile path cannot make a long line.
LOGGED_PATH_CHARS: Final = 200


def make_app(public_dir: Path) -> WSGIApplication:
    """The WSGI application serving GET and HEAD of the files under ``public_dir``.

    Args:
        public_dir: A repository's ``DIR/public``; never ``DIR`` itself, which holds the keys.

    Raises:
        ConfigError: ``public_dir`` is not an existing directory.
    """
    if not public_dir.is_dir():
        raise ConfigError(
            f"要发布的目录“{public_dir}”不存在或不是文件夹；请先运行 signage repo init",
            f"the directory to serve '{public_dir}' does not exist or is not a directory; "
            "run 'signage repo init' first",
        )
    return _FileApp(public_dir.resolve())


def request_parts(path_info: str) -> tuple[str, ...] | None:
    """The components of a decoded WSGI ``PATH_INFO``, or None if the path may never be served.

    Args:
        path_info: ``PATH_INFO`` as WSGI gives it: percent-decoded bytes carried in a latin-1 ``str``.

    Returns:
        The components (the first is one of :data:`SERVED_FOLDERS`), or None for a path that is
        malformed, not UTF-8, climbs out (``..``), names a dotfile, or lies outside the served folders.
    """
    try:
        text = path_info.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None
    if not text.startswith("/"):
        return None
    parts = tuple(text[1:].split("/"))
    return parts if _acceptable(parts) else None


def cache_control_for(parts: tuple[str, ...]) -> str:
    """The ``Cache-Control`` value of the file at ``parts`` (as returned by :func:`request_parts`)."""
    folder, name = parts[0], parts[-1]
    if folder in ("targets", "photos"):
        return IMMUTABLE
    if len(parts) == 2 and _VERSIONED_METADATA.fullmatch(name):
        return IMMUTABLE
    return REVALIDATE


def content_type_for(parts: tuple[str, ...]) -> str:
    """The ``Content-Type`` of the file at ``parts``: photos are JPEG whatever their (hash) name."""
    if parts[0] == "photos":
        return "image/jpeg"
    if parts[-1].endswith(".json"):
        return "application/json"
    return "application/octet-stream"


def entity_tag(status: os.stat_result) -> str:
    """A strong ETag for the file described by ``status``.

    An atomic replacement is a new inode and a new mtime, so the tag changes whenever the content can
    have; a rewrite in place (which this project never does) would still change mtime_ns.
    """
    return f'"{status.st_size:x}-{status.st_mtime_ns:x}-{status.st_ino:x}"'


def not_modified(environ: WSGIEnvironment, etag: str, mtime: float) -> bool:
    """Whether the request's validators match, so that 304 is the answer (RFC 9110, section 13.2.2)."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        # If-None-Match wins over If-Modified-Since, and uses the weak comparison.
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in candidates or etag in candidates
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if if_modified_since is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # an unparsable date is ignored, as the RFC says
    if since.tzinfo is None:
        return False  # "-0000" dates carry no zone; HTTP dates are always GMT, so this is not one
    # Last-Modified has whole seconds; a replacement within the same second is caught by the ETag.
    return int(mtime) <= since.timestamp()


@dataclass(frozen=True)
class _Response:
    """What one request is answered with, before the body is attached."""

    status: str
    headers: list[tuple[str, str]]
    body_bytes: int
    #: Why, for the log line of an error.
    note: str = ""


class _FileApp:
    """The WSGI callable returned by :func:`make_app`."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request."""
        method = str(environ.get("REQUEST_METHOD", ""))
        path_info = str(environ.get("PATH_INFO", ""))
        if method not in ALLOWED_METHODS:
            return self._text(
                environ,
                start_response,
                "405 Method Not Allowed",
                _NOT_ALLOWED_BODY,
                [("Allow", ", ".join(ALLOWED_METHODS))],
            )
        parts = request_parts(path_info)
        try:
            file = self._open(parts) if parts is not None else None
        except OSError as error:
            # Unreadable but present (permissions, I/O error): the operator must hear of it.
            return self._text(
                environ, start_response, "500 Internal Server Error", _ERROR_BODY, note=str(error)
            )
        if parts is None or file is None:
            return self._text(environ, start_response, "404 Not Found", _NOT_FOUND_BODY)
        try:
            return self._serve(environ, start_response, parts, file)
        except BaseException:
            file.close()
            raise

    def _open(self, parts: tuple[str, ...]) -> BinaryIO | None:
        """The regular file at ``parts`` opened for reading, or None when there is none to serve."""
        try:
            real = Path(os.path.realpath(self._root.joinpath(*parts)))
        except OSError as error:
            # realpath() stats each component; a component too long for the file system raises here.
            if error.errno in _NOT_FOUND_ERRNOS:
                return None
            raise
        if not real.is_relative_to(self._root) or not _acceptable(real.relative_to(self._root).parts):
            return None
        # O_NONBLOCK so that a FIFO planted in the tree cannot hang a worker in open(); it changes
        # nothing for regular files. O_NOFOLLOW catches a link swapped in after realpath().
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            descriptor = os.open(real, flags)
        except OSError as error:
            if error.errno in _NOT_FOUND_ERRNOS:
                return None
            raise
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                os.close(descriptor)
                return None
            return os.fdopen(descriptor, "rb")
        except BaseException:
            os.close(descriptor)
            raise

    def _serve(
        self, environ: WSGIEnvironment, start_response: StartResponse, parts: tuple[str, ...], file: BinaryIO
    ) -> Iterable[bytes]:
        """Headers from the open file's own ``fstat``; the body streamed from that same file."""
        status = os.fstat(file.fileno())
        etag = entity_tag(status)
        headers = [
            ("ETag", etag),
            ("Last-Modified", email.utils.formatdate(status.st_mtime, usegmt=True)),
            ("Cache-Control", cache_control_for(parts)),
        ]
        if not_modified(environ, etag, status.st_mtime):
            file.close()
            self._start(environ, start_response, _Response("304 Not Modified", headers, 0))
            return []
        headers += [
            ("Content-Type", content_type_for(parts)),
            ("Content-Length", str(status.st_size)),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if environ.get("REQUEST_METHOD") == "HEAD":
            file.close()
            self._start(environ, start_response, _Response("200 OK", headers, 0))
            return []
        self._start(environ, start_response, _Response("200 OK", headers, status.st_size))
        file_wrapper = environ.get("wsgi.file_wrapper")
        if file_wrapper is not None:
            # waitress sends a wrapped file from its event loop, so a slow screen does not hold a worker.
            wrapped: Iterable[bytes] = file_wrapper(file, CHUNK_BYTES)
            return wrapped
        return _FileChunks(file, status.st_size)

    def _text(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        status: str,
        body: bytes,
        extra: list[tuple[str, str]] | None = None,
        *,
        note: str = "",
    ) -> Iterable[bytes]:
        """A short plain-text answer, never cached for long: a 404 for the next root must not stick."""
        headers = [*_TEXT_HEADERS, ("Content-Length", str(len(body))), *(extra or [])]
        self._start(environ, start_response, _Response(status, headers, len(body), note))
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    @staticmethod
    def _start(environ: WSGIEnvironment, start_response: StartResponse, response: _Response) -> None:
        """Start the response and write its one log line (bytes are those promised by the headers)."""
        level = logging.WARNING if response.status.startswith("5") else logging.DEBUG
        # %r keeps control characters of a hostile path out of the log as raw bytes.
        logger.log(
            level,
            "%s %r %s %d%s",
            environ.get("REQUEST_METHOD"),
            logged_path(str(environ.get("PATH_INFO", ""))),
            response.status[:3],
            response.body_bytes,
            f" ({response.note})" if response.note else "",
        )
        start_response(response.status, response.headers)


def logged_path(path: str) -> str:
    """``path`` cut to :data:`LOGGED_PATH_CHARS` characters for a log line, saying how long it was."""
    if len(path) <= LOGGED_PATH_CHARS:
        return path
    return f"{path[:LOGGED_PATH_CHARS]}… ({len(path)} characters)"


class _FileChunks:
    """A file as an iterable of chunks, for servers without ``wsgi.file_wrapper``; never past ``size``."""

    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file = file
        self._remaining = size

    def __iter__(self) -> Iterator[bytes]:
        """Yield the file in chunks of :data:`CHUNK_BYTES`, stopping at the size announced."""
        while self._remaining > 0:
            chunk = self._file.read(min(CHUNK_BYTES, self._remaining))
            if not chunk:
                return
            self._remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        """Close the file; the WSGI server calls this whether or not the body was sent in full."""
        self._file.close()


def _acceptable(parts: tuple[str, ...]) -> bool:
    """Whether path components stay inside a served folder and name nothing hidden or odd."""
    if len(parts) < 2 or parts[0] not in SERVED_FOLDERS:
        return False
    # A component starting with "." covers ".", ".." and every dotfile; "" would be "a//b" or "a/".
    return all(
        part and not part.startswith(".") and "\\" not in part and "\x00" not in part for part in parts
    )
