"""Lines split the way each wire protocol says, on bytes, never with ``str.splitlines()``.

``str.splitlines()`` (and so ``httpx``'s ``iter_lines``) also breaks at U+2028, U+2029, U+0085,
U+000B, U+000C and U+001C-U+001E. JSON allows every one of them raw inside a string, and
Mastodon sends them raw (its server writes JSON as JavaScript's ``JSON.stringify`` does): a
status holding one was cut in two and lost. The splitters here work on bytes, where no byte of
a multi-byte UTF-8 character is ever ``\\r`` or ``\\n``, so they never cut a character.

- :func:`sse_lines`: Server-Sent Events (WHATWG HTML, "Event stream interpretation"): a line
  ends with CRLF, a lone LF or a lone CR, and nothing else. A CR at the end of one network chunk
  whose LF starts the next is one line end. A leading BOM is dropped; an unterminated last line
  is dropped, as the standard says.
- :func:`lf_lines`: NDJSON / JSON lines (DataSift's stream, replay files, ``civic-signal
  classify``): a line ends with LF only. A CR before it stays in the line (JSON whitespace).
  An unterminated last line is yielded (a file's last line often has no LF).
- :func:`crlf_lines`: the X API v2 stream: messages and keep-alives end with ``\\r\\n``.

What callers may rely on: each yields every line once, in order, without its line end; the
text inside a line is exactly the bytes that arrived.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO

_SSE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


def sse_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Decoded SSE lines (UTF-8, bad bytes replaced) from the stream's byte chunks."""
    buf = b""
    first = True
    for chunk in chunks:
        if not chunk:
            continue
        buf += chunk
        if first:
            if len(buf) < 3 and _BOM.startswith(buf):
                continue  # maybe the start of a BOM: wait for more
            if buf.startswith(_BOM):
                buf = buf[3:]
            first = False
        start = 0
        for m in _SSE_END.finditer(buf):
            if m.group() == b"\r" and m.end() == len(buf):
                break  # a CR at the end: its LF may come in the next chunk
            yield buf[start:m.start()].decode("utf-8", "replace")
            start = m.end()
        buf = buf[start:]
    if buf.endswith(b"\r"):  # the stream ended right after a CR: that line is complete
        yield buf[:-1].decode("utf-8", "replace")


def _split(chunks: Iterable[bytes], end: bytes, *, keep_last: bool) -> Iterator[bytes]:
    buf = b""
    for chunk in chunks:
        if not chunk:
            continue
        buf += chunk
        *lines, buf = buf.split(end)
        yield from lines
    if buf and keep_last:
        yield buf


def lf_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """NDJSON lines (LF-terminated; the last one may lack its LF) from byte chunks."""
    return _split(chunks, b"\n", keep_last=True)


def crlf_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``\\r\\n``-terminated lines (the X stream; empty ones are keep-alives) from byte chunks.
    An unterminated last line (a connection cut mid-message) is not yielded."""
    return _split(chunks, b"\r\n", keep_last=False)


def file_lines(fh: IO[bytes] | IO[str], chunk_size: int = 1 << 16) -> Iterator[bytes]:
    """The LF-terminated lines of a file opened for binary reading (or ``sys.stdin.buffer``); a
    text stream (a test's ``StringIO``) is read as its UTF-8 bytes."""
    def chunks() -> Iterator[bytes]:
        while True:
            data = fh.read(chunk_size)
            if not data:
                return
            yield data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    return lf_lines(chunks())
