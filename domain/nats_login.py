"""The login to a NATS cluster, out of the server URLs given: one user and password, or one token, for every node.

A NATS server names the other nodes of its cluster to its clients, and nats-py tries them when the node it is on
dies, with the credentials of the URL it tries: none, for a node it was told of. A prober given one node's URL with
a password fell back on the others and was refused ("Authorization Violation") for as long as that node was away.
NATS's clients advise the login as connection options, used on every server (nats.c's `natsOptions_SetUserInfo`,
nats.net's "only the credentials in the first server URL will be used"): the link gives nats-py the URLs without
their user information, and the login as options.

Example:
    >>> login = cluster_login(["nats://prober:s3cret@h1:4222", "nats://h2:4222"])
    >>> login.servers, login.user, login.password, login.token
    (('nats://h1:4222', 'nats://h2:4222'), 'prober', 's3cret', None)
    >>> cluster_login(["nats://t0ken@h1:4222"]).token
    't0ken'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from monitoringapp.domain.sites import shown_server


class DifferentLogins(ValueError):
    """Two server URLs carry different credentials: a cluster is logged in to with one (message: passwords as ***)."""


@dataclass(frozen=True, slots=True)
class ClusterLogin:
    """The servers without user information, in the order given, and the one login for all of them (or none)."""

    servers: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    token: str | None = None


def cluster_login(servers: Sequence[str]) -> ClusterLogin:
    """The login the URLs carry (`nats://USER:PASSWORD@host:port` or `nats://TOKEN@host:port`, percent-decoded as
    NATS's clients do), given on one URL or on each alike; DifferentLogins when two URLs carry different ones."""
    bare: list[str] = []
    login: tuple[str, str | None] | None = None
    first_with_login = ""
    for server in servers:
        scheme, separator, rest = server.rpartition("://")
        _, at, host = rest.rpartition("@")
        bare.append(f"{scheme}{separator}{host}")
        if not at:
            continue
        parts = urlsplit(server)
        this = (unquote(parts.username or ""), None if parts.password is None else unquote(parts.password))
        if login is None:
            login, first_with_login = this, server
        elif this != login:
            raise DifferentLogins(
                f"{shown_server(first_with_login)} and {shown_server(server)} log in differently; a cluster is "
                "logged in to once: give the credentials on one URL, or the same on each")
    if login is None:
        return ClusterLogin(tuple(bare))
    user, password = login
    if password is None:
        return ClusterLogin(tuple(bare), token=user)
    return ClusterLogin(tuple(bare), user=user, password=password)
