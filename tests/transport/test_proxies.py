"""The environment's proxies as a probe and a notification read them: which proxy a URL goes through, and the
proxies refused at start."""

from __future__ import annotations

import pytest

from monitoringapp.domain.config import ConfigError
from monitoringapp.domain.sites import shown_in_error
from monitoringapp.transport.proxies import PROXY_SCHEMES, Proxies


@pytest.mark.parametrize("url", ["socks6://ops:s3cret@127.0.0.1:1080", "sock5h://ops:s3cret@proxy.test",
                                 "ftp://proxy.test:21"])
def test_a_proxy_of_a_scheme_no_probe_can_go_through_is_a_config_error_that_hides_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Proxies({"https": url})
    assert str(refused.value).startswith(f"HTTPS_PROXY={url.replace('s3cret', '***')}: a proxy's scheme is ")
    assert str(refused.value).endswith(f", not {url.partition(':')[0]}")


UNREADABLE = "a proxy's host or port cannot be read from it"
PORT_0 = "a proxy's port is 1 to 65535, not 0"


@pytest.mark.parametrize(("url", "problem"), [
    # Before: a traceback per probe (requests' TypeError), nothing stored.
    ("socks5h://ops:s3cret@", UNREADABLE),
    # Before, these and port 0: accepted, and every probe through them stored as `connection`, saying nothing of why.
    *((url, UNREADABLE) for url in ["socks5h://ops:s3cret@127.0.0.1:abc", "socks5h://ops:s3cret@127.0.0.1:99999",
                                    "socks5h://:1080", "http://ops:s3cret@[::1:3128", "ops:s3cret@:3128"]),
    ("socks5h://ops:s3cret@127.0.0.1:0", PORT_0),
    ("127.0.0.1:00", PORT_0),
])
def test_a_proxy_whose_address_cannot_be_used_is_a_config_error_that_says_why_and_hides_its_password(
        url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Proxies({"all": url})
    assert str(refused.value) == (f"ALL_PROXY={shown_in_error(url)}: {problem} "
                                  "(scheme://host:port, as socks5h://user:password@proxy.example:1080)")
    assert "s3cret" not in str(refused.value)


def test_a_proxy_no_probe_goes_through_is_not_checked_whatever_it_holds() -> None:
    # Before: `FTP_PROXY=ftp://...` (curl's and wget's for ftp:// URLs; a probe's URL is http or https) made `-m`
    # refuse to start.
    others = {"ftp": "ftp://ops:s3cret@proxy.test:21", "rsync": "rsync://proxy.test", "gopher": "socks5h://ops:s3cret@"}
    assert Proxies({**others, "https": "socks5h://127.0.0.1:1080"}).for_url("https://site.test/") == {
        "https": "socks5h://127.0.0.1:1080"}


def test_every_scheme_curl_takes_for_a_proxy_is_taken_and_one_without_a_scheme_is_an_http_proxy() -> None:
    for scheme in PROXY_SCHEMES:
        assert Proxies({"all": f"{scheme.upper()}://127.0.0.1:1080"}).for_url("http://site.test/") == {
            "http": f"{scheme.upper()}://127.0.0.1:1080"}
    urls = {"http": "127.0.0.1:3128", "https": "socks5h://[::1]", "all": "socks5h://ops:p%40ss@proxy.test:1080/"}
    assert Proxies(urls).by_scheme == urls
