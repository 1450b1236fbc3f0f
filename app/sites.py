"""`--site URL` (`-a`, `-p`, `--purge`, `--replay`): any spelling of a site's URL, or its name, names it (compared
in canonical form, as the config compares sites), and one that names no known site is said, not silently matched
by nothing."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable

from monitoringapp.app.usage import UsageError
from monitoringapp.domain.config import Config, some_of
from monitoringapp.domain.sites import canonical_url, comparable_url, shown_url
from monitoringapp.store.log import LogReader, LogUnavailable


def stored_spellings(given: str, known: Iterable[str]) -> frozenset[str]:
    """The spellings among `known` of the site `given` names; empty when it names none of them."""
    wanted = comparable_url(given)
    return frozenset(site for site in known if comparable_url(site) == wanted)


def of_site(config: Config, given: str | None) -> Config:
    """The config of the site(s) `--site given` names (by name, or any spelling of the URL), or UsageError
    naming the sites there are."""
    if given is None:
        return config
    by_key = stored_spellings(given, [site.key for site in config.sites])
    by_url = stored_spellings(given, [site.url for site in config.sites])
    chosen = tuple(site for site in config.sites if site.key in by_key or site.url in by_url)
    if not chosen:
        raise UsageError(f"--site: {shown_url(given)} is none of the sites of {config.source} "
                         f"({some_of(site.key for site in config.sites)})")
    return dataclasses.replace(config, sites=chosen)


def site_filter(given: str, known: Iterable[str] | None) -> tuple[frozenset[str], str]:
    """The hosts to keep for `--site given`, and how to name them (`known`: the sites there are, or None
    when that cannot be told yet); the name is "" when `given` names none of `known` (its own spellings
    are kept then, in case the site comes)."""
    found = stored_spellings(given, known or ())
    if found:
        return found, some_of(sorted(found))
    spellings = frozenset({shown_url(given), canonical_url(given)})
    return spellings, shown_url(given) if known is None else ""


def hosts_of_site(log: LogReader, given: str, database: str, *, yet: bool = False) -> tuple[frozenset[str], str]:
    """The hosts `--site given` keeps in `log`, and the site's name to print; a warning on stderr when it
    names no site there (`yet`: one may still come, as a follower waits for it)."""
    try:
        known: frozenset[str] | None = log.sites()
    except LogUnavailable:
        known = None  # not there yet: nothing to tell
    hosts, named = site_filter(given, known)
    if not named:
        named = shown_url(given)
        print(f"warning: --site {named} matches no site in {database}{' yet' if yet else ''}", file=sys.stderr)
    return hosts, named
