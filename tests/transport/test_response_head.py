"""A response's header block read without the email parser: the same `HTTPMessage` as `http.client` makes, field for
field, over generated blocks of plain and awkward lines; the quick way taken for plain blocks only; and a real
exchange on 127.0.0.1 through a watched connection giving the headers urllib3's own connection gives."""

from __future__ import annotations

import http.client
import io
from email.message import Message
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.connectionpool import HTTPConnectionPool

from monitoringapp.transport.response_head import QuickHeadersResponse, parse_headers, plain_fields, read_head
from monitoringapp.transport.watchdog import WatchedHTTPConnection, WatchedHTTPConnectionPool
from tests.local_http import ClosingServer

NGINX_HEAD = (b"Server: nginx/1.22.1\r\nDate: Thu, 03 Dec 2026 02:55:00 GMT\r\nContent-Type: text/plain\r\n"
              b"Content-Length: 3\r\nConnection: keep-alive\r\nETag: \"abc-3\"\r\nAccept-Ranges: bytes\r\n\r\n")


def described(message: Message) -> dict[str, Any]:
    """Everything a parsed message holds, comparable: its defects by kind and text (two defects are never equal)."""
    payload = message.get_payload()
    return {
        "headers": message.items(),
        "raw": list(message.raw_items()),
        "payload": payload if isinstance(payload, str) or payload is None else [part.as_string() for part in payload],
        "defects": [(type(defect), str(defect)) for defect in message.defects],
        "unixfrom": message.get_unixfrom(),
        "preamble": message.preamble,
        "epilogue": message.epilogue,
        "type": type(message),
    }


def both_ways(head: bytes) -> tuple[dict[str, Any], bytes, dict[str, Any], bytes]:
    """The message and what is left unread after it, by `parse_headers` and by `http.client.parse_headers`."""
    ours, stdlib = io.BytesIO(head), io.BytesIO(head)
    mine = described(parse_headers(ours))
    theirs = described(http.client.parse_headers(stdlib))
    return mine, ours.read(), theirs, stdlib.read()


# Fragments that make plain fields and each thing the email parser reads otherwise: folded lines, a bare CR, a line
# with no colon or no name, an envelope line, bodies it parses, bytes past ASCII (what str.splitlines would break a
# line at among them), a block cut before its blank line.
FRAGMENTS = [b"Server: nginx", b"X-A:b", b"X-Empty:", b"x-tab:\t v ", b"Content-Type: text/html",
             b"Content-Type: multipart/mixed; boundary=z", b"content-type: Message/rfc822", b"Set-Cookie: a=1; b",
             b" folded", b"\tfolded", b"From x", b"From: y", b": no name", b"no colon", b"X-C: a\rb",
             b"X-Latin: \xe9\xff", b"X-Breaks: a\x85b\x0bc\x0cd\x1ce\x00", b"X-Colons: a:b:c",
             b"(odd)~name!: v", b"--z", b"", b"\r"]


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.sampled_from(FRAGMENTS), max_size=8),
       ending=st.sampled_from([b"\r\n", b"\n"]),
       last=st.sampled_from([b"\r\n", b"\n", b"", b"Content-Length: 3\r\n"]),
       body=st.sampled_from([b"", b"ok\n", b"--z\r\nX: 1\r\n\r\npart\r\n--z--\r\n"]))
def test_the_message_and_what_is_left_unread_are_http_clients_for_any_block(
        lines: list[bytes], ending: bytes, last: bytes, body: bytes) -> None:
    head = b"".join(line + ending for line in lines) + last + body
    mine, my_rest, theirs, their_rest = both_ways(head)
    assert mine == theirs
    assert my_rest == their_rest


def test_a_plain_block_is_read_the_quick_way_and_each_awkward_one_the_email_parsers() -> None:
    assert plain_fields(read_head(io.BytesIO(NGINX_HEAD))) == [
        ("Server", "nginx/1.22.1"), ("Date", "Thu, 03 Dec 2026 02:55:00 GMT"), ("Content-Type", "text/plain"),
        ("Content-Length", "3"), ("Connection", "keep-alive"), ("ETag", '"abc-3"'), ("Accept-Ranges", "bytes")]
    assert plain_fields([b"X-Tab:\t v \n", b"\n"]) == [("X-Tab", "v ")]
    assert plain_fields([b"\r\n"]) == []
    awkward = {
        "folded": [b"X-A: b\r\n", b" c\r\n", b"\r\n"],
        "bare CR": [b"X-A: b\rc\r\n", b"\r\n"],
        "no name": [b": b\r\n", b"\r\n"],
        "no colon": [b"X-A b\r\n", b"\r\n"],
        "envelope": [b"From x\r\n", b"\r\n"],
        "multipart": [b"Content-Type: multipart/mixed; boundary=z\r\n", b"\r\n"],
        "message": [b"CONTENT-TYPE: message/rfc822\r\n", b"\r\n"],
        "cut short": [b"X-A: b\r\n", b""],
    }
    for kind, head in awkward.items():
        assert plain_fields(head) is None, kind
        mine, my_rest, theirs, their_rest = both_ways(b"".join(head))
        assert (mine, my_rest) == (theirs, their_rest), kind


def test_the_stdlibs_limits_on_a_header_block_hold() -> None:
    with pytest.raises(http.client.LineTooLong):
        parse_headers(io.BytesIO(b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        parse_headers(io.BytesIO(b"X-A: b\r\n" * 101 + b"\r\n"))
    assert "parse_headers" in QuickHeadersResponse.begin.__code__.co_names  # the one name it binds is still used


@pytest.mark.parametrize("head", [
    NGINX_HEAD,
    b"Content-Length: 3\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n",
    b"Content-Type: multipart/byteranges; boundary=z\r\nContent-Length: 3\r\n\r\n",
], ids=["plain", "folded", "multipart"])
def test_a_watched_connection_gives_the_status_headers_and_body_urllib3s_own_gives(head: bytes) -> None:
    assert WatchedHTTPConnection.response_class is QuickHeadersResponse
    got = {}
    server = ClosingServer(b"HTTP/1.1 200 OK\r\n" + head + b"ok\n")
    try:
        for pool_class in (WatchedHTTPConnectionPool, HTTPConnectionPool):
            with pool_class("127.0.0.1", server.port, maxsize=1, retries=False, timeout=5.0) as pool:
                response = pool.urlopen("GET", "/", preload_content=True)
                got[pool_class] = (response.status, list(response.headers.items()), response.data,
                                   type(response._original_response))
    finally:
        server.stop()
    assert got[WatchedHTTPConnectionPool][:3] == got[HTTPConnectionPool][:3]
    assert got[WatchedHTTPConnectionPool][2] == b"ok\n"
    assert got[WatchedHTTPConnectionPool][3] is QuickHeadersResponse
    assert got[HTTPConnectionPool][3] is http.client.HTTPResponse
