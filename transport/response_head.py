"""A response's header block read without the `email` package when it is plain, as nearly every server sends it.

`http.client` parses every response's headers with `email.parser`, a general parser of mail messages (folded lines,
`From ` envelopes, multipart bodies, defects): 35 µs a response of nginx's eight headers here, 19 % of the samples
in a profile of 200 sites nearby (`py-spy record --gil`, 2026-12-03). A block whose every line is a plain
`Name: value` is parsed here by one pass of a regular expression into the same `HTTPMessage`, field for field, in
8 µs, reading included; any other block (a folded line, a bare CR, a field with no name, a multipart or message
content type, the connection closed before the blank line) is handed, bytes as read, to `http.client.parse_headers`
itself. So the message is always the one `http.client` makes (`tests/transport/test_response_head.py` checks it
against the stdlib's over generated blocks), and urllib3's own checks of it (`assert_header_parsing`) see the same.

`QuickHeadersResponse` is `http.client.HTTPResponse` with its own `begin` (status line, 100-continue, length, chunked,
keep-alive) run unchanged, only its `parse_headers` bound to this module's.
"""

from __future__ import annotations

import http.client
import io
import re
import types
from typing import BinaryIO

__all__ = ["QuickHeadersResponse", "parse_headers", "plain_fields", "read_head"]

MAX_LINE = 65536
"""A header line's longest, as `http.client` takes it (its `_MAXLINE`): a longer one is `LineTooLong`."""
MAX_FIELDS = 100
"""The most lines a header block has, as `http.client` takes it (its `_MAXHEADERS`)."""

# A field the email parser reads as exactly `name: value`: at a line's start, a name of printable characters other than
# the colon (its `headerRE`), optional spaces or tabs, then a value with no CR or LF in it (the email parser splits
# lines at a bare CR too) before the line's end.
_PLAIN_FIELD = re.compile(r"^([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n", re.M)
# Content types whose body the email parser goes on to parse (parts, an enclosed message): never plain.
_PARSED_BODIES = ("multipart", "message")


def read_head(fp: BinaryIO) -> list[bytes]:
    """The header block's lines as `http.client` reads them, the blank line (or b'' at the end of the stream) last,
    with its limits and errors."""
    lines: list[bytes] = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_FIELDS:
            raise http.client.HTTPException(f"got more than {MAX_FIELDS} headers")
        if line in (b"\r\n", b"\n", b""):
            return lines


def plain_fields(lines: list[bytes]) -> list[tuple[str, str]] | None:
    """The (name, value) fields of a header block read by `read_head`, when each is a plain `Name: value` line and
    the block ends in a blank line; else None."""
    if lines[-1] not in (b"\r\n", b"\n"):
        return None  # closed before the blank line
    text = b"".join(lines).decode("iso-8859-1")
    # One pass of the expression over the block, not one call a line: a line that is not a plain field has no match,
    # and the count falls short (a match begins only where a line does, and ends with it).
    fields: list[tuple[str, str]] = _PLAIN_FIELD.findall(text)
    if len(fields) != len(lines) - 1:
        return None
    lowered = text.lower()
    # Neither word anywhere in the block (the usual case) is two quick looks, not a generator: only then are the
    # content types read.
    if (_PARSED_BODIES[0] in lowered or _PARSED_BODIES[1] in lowered) and any(
            name.lower() == "content-type" and any(kind in value.lower() for kind in _PARSED_BODIES)
            for name, value in fields):
        return None
    return fields


def parse_headers(fp: BinaryIO) -> http.client.HTTPMessage:
    """`http.client.parse_headers(fp)`'s message, made without the email parser when the block is plain."""
    lines = read_head(fp)
    fields = plain_fields(lines)
    if fields is None:
        return http.client.parse_headers(io.BytesIO(b"".join(lines)))
    message = http.client.HTTPMessage()
    for name, value in fields:
        message.set_raw(name, value)
    message.set_payload("")  # as the email parser leaves a block with nothing after its blank line
    return message


class QuickHeadersResponse(http.client.HTTPResponse):
    """`http.client.HTTPResponse` reading its headers with `parse_headers` above: a connection's `response_class`."""

    # The stdlib's own `begin`, its code unchanged, with the one name it parses headers by bound to ours: copying
    # its 60 lines would freeze one Python's version of them.
    begin = types.FunctionType(http.client.HTTPResponse.begin.__code__,
                               {**vars(http.client), "parse_headers": parse_headers}, "begin")
