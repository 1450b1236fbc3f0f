"""`Secrets.redact`: every form of a secret hidden, and ordinary text left readable."""

from __future__ import annotations

from monitoringapp.domain.secrets import Secrets


def test_a_short_secret_is_hidden_where_it_stands_alone_not_inside_every_word_and_number() -> None:
    # A URL's password `0`, a header's `Bearer ok`: replaced inside every word and number, a detail read
    # `status 5******, expected 2******` and `to*** 0.044 s`, unreadable, and the stars told the secret itself.
    zero, ok = Secrets.of(["0"]), Secrets.of(["ok"])
    assert zero.redact("status 500, expected 200") == "status 500, expected 200"
    assert ok.redact("took 0.044 s, more than maxResponseTime 0.5 s") == \
        "took 0.044 s, more than maxResponseTime 0.5 s"
    assert ok.redact('$.line is "GET /ok HTTP/1.1", expected "x"') == '$.line is "GET /*** HTTP/1.1", expected "x"'
    assert zero.redact('$.pin is "0", expected "1"') == '$.pin is "***", expected "1"'
    assert Secrets.of(["T"]).redact("GET / HTTP/1.1 T") == "GET / HTTP/1.1 ***"


def test_a_short_secret_percent_encoded_after_an_escape_is_hidden_too() -> None:
    # `%2F` ends in a letter, yet the secret after it stands alone: a path echoed encoded must not show it.
    assert Secrets.of(["pw7"]).redact("/hook%2Fpw7%2Fx and /hook/pw7") == "/hook%2F***%2Fx and /hook/***"
    assert Secrets.of(["a b"]).redact("q=a%20b&r=xa%20b") == "q=***&r=xa%20b"


def test_a_long_secret_is_hidden_wherever_it_is_even_inside_a_longer_word() -> None:
    secret = Secrets.of(["S3CRET-TOKEN"])
    assert secret.redact("tokenS3CRET-TOKENtoken") == "token***token"
    assert secret.redact("Bearer S3CRET-TOKEN") == "Bearer ***"


def test_a_secret_escaped_as_html_or_form_encoded_is_hidden_too() -> None:
    # A login page echoing the password HTML-escaped (`p&amp;ss&lt;1`), or a form echoing it encoded with `+` for its
    # spaces, showed it whole in a detail that quotes the body: only as-is, %-encoded and JSON forms were known.
    secret = Secrets.of(['p&ss<1 "x"'])
    assert secret.redact("<p>p&amp;ss&lt;1 &quot;x&quot;</p>") == "<p>***</p>"
    assert secret.redact("<p>p&amp;ss&lt;1 &#x27;x&#x27; p&amp;ss&lt;1 \"x\"</p>") == \
        "<p>p&amp;ss&lt;1 &#x27;x&#x27; ***</p>"
    assert secret.redact("password=p%26ss%3C1+%22x%22&next=/") == "password=***&next=/"
