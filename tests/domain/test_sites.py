"""A site's key is stable across spellings of its URL and a password change; a password is never shown."""

from __future__ import annotations

import pytest

from monitoringapp.domain.sites import canonical_url, comparable_url, key_named, shown_url, site_id


@pytest.mark.parametrize("spelling", [
    "http://example.com/", "HTTP://EXAMPLE.com", "http://example.com:80/", "http://u:p@example.com/",
    "http://example.com/#top",
])
def test_spellings_of_one_url_have_one_key(spelling: str) -> None:
    assert site_id(spelling) == site_id("http://example.com/")
    assert len(site_id(spelling)) == 10


def test_different_sites_have_different_keys_and_a_name_is_its_own_key() -> None:
    keys = {site_id(url) for url in ("http://example.com/", "https://example.com/", "http://example.com:8080/",
                                     "http://example.com/health", "http://example.com/?a=1")}
    assert len(keys) == 5
    assert site_id("http://example.com/", name="shop") == "shop"
    assert canonical_url("https://[::1]:443/x") == "https://[::1]/x"


def test_a_password_is_shown_as_stars_and_nothing_else_changes() -> None:
    assert shown_url("http://alice:s3cret@example.com:8080/p?q=1") == "http://alice:***@example.com:8080/p?q=1"
    assert shown_url("http://alice@example.com/") == "http://alice@example.com/"
    assert shown_url("http://example.com/?q=<b>") == "http://example.com/?q=<b>"


def test_a_password_with_an_at_sign_in_it_is_hidden_whole_as_the_probe_reads_it() -> None:
    # The probe sends everything up to the authority's last "@" as the password (`s3cr@tPW`); only `s3cr` was hidden,
    # and `tPW` went into the site's key: the console, the database's `host`, --check.
    assert shown_url("http://alice:s3cr@tPW@example.com/p@q") == "http://alice:***@example.com/p@q"
    assert canonical_url("http://alice:s3cr@tPW@example.com") == "http://alice:***@example.com/"


def test_an_international_host_compares_in_the_ascii_form_the_probe_sends_and_is_kept_as_written() -> None:
    assert comparable_url("HTTP://Bücher.test:80") == comparable_url("http://xn--bcher-kva.test/") == (
        "http://xn--bcher-kva.test/")
    assert comparable_url("http://u:pw@bücher.test:8080/x") == "http://u:***@xn--bcher-kva.test:8080/x"
    assert canonical_url("http://Bücher.test/") == "http://bücher.test/", "the stored key keeps the spelling written"
    assert key_named("http://xn--bcher-kva.test", {"http://bücher.test/": "http://bücher.test/"}) == (
        "http://bücher.test/")
