"""One login for every node of a NATS cluster, out of the URLs given; a token or a password is never shown."""

from __future__ import annotations

import pytest

from monitoringapp.domain.nats_login import ClusterLogin, DifferentLogins, cluster_login
from monitoringapp.domain.sites import shown_server, shown_servers

H1, H2, H3 = "nats://h1:4222", "tls://h2:4222", "nats://[::1]:4223"


@pytest.mark.parametrize(("given", "login"), [
    ([H1, H2], ClusterLogin((H1, H2))),
    (["nats://ops:s3cret@h1:4222"], ClusterLogin((H1,), user="ops", password="s3cret")),
    (["nats://t0ken@h1:4222"], ClusterLogin((H1,), token="t0ken")),
    # given once for several URLs: the others log in with it too (nats-py sent nothing to them)
    ([H1, "tls://ops:s3cret@h2:4222", H3], ClusterLogin((H1, H2, H3), user="ops", password="s3cret")),
    (["nats://ops:s3cret@h1:4222", "tls://ops:s3cret@h2:4222"], ClusterLogin((H1, H2), user="ops", password="s3cret")),
    # percent-encoded, as NATS's clients ask for characters a URL cannot hold; an empty password is a password
    (["nats://op%40s:s3%2Fcr%3At@h1:4222", "nats://op%40s:s3%2fcr:t@h2:4222"],
     ClusterLogin((H1, "nats://h2:4222"), user="op@s", password="s3/cr:t")),
    (["nats://ops:@h1:4222"], ClusterLogin((H1,), user="ops", password="")),
])
def test_the_login_is_taken_out_of_the_urls_once_for_every_server(given: list[str], login: ClusterLogin) -> None:
    assert cluster_login(given) == login


@pytest.mark.parametrize("given", [
    ["nats://ops:s3cret@h1:4222", "nats://ops:0ther@h2:4222"],
    ["nats://ops:s3cret@h1:4222", "nats://t0ken@h2:4222"],
    ["nats://t0ken@h1:4222", "nats://0ther@h2:4222"],
])
def test_two_different_logins_are_refused_with_neither_secret_said(given: list[str]) -> None:
    with pytest.raises(DifferentLogins) as different:
        cluster_login(given)
    said = str(different.value)
    assert said.startswith(f"{shown_server(given[0])} and {shown_server(given[1])} log in differently"), said
    assert "s3cret" not in said and "0ther" not in said and "t0ken" not in said


def test_a_servers_token_and_password_are_shown_as_stars() -> None:
    assert shown_servers(["nats://t0ken@h1:4222", "tls://ops:s3cret@h2:4222", H3]) == \
        "nats://***@h1:4222, tls://ops:***@h2:4222, nats://[::1]:4223"
