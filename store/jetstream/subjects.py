"""The `MONITOR` stream's subjects and messages: events in, (subject, message id, payload) out, and back.

Subjects:
- `monitor.probe.<bucket>.<location>`: a probe; `<bucket>` is two hex digits, a stable hash of the site key mod
  `BUCKETS`, so evaluators can share the sites (`--partition i/n` takes the buckets b with b % n == i).
- `monitor.state.<site hash>`: an alert or a recovery of a site: the stream's last message per subject is each
  site's alert state (what a restart resumes), at one read.
- `monitor.event.<kind>.<site hash>`: every other transition kind (silent locations, certificate warnings).

Every message has a deterministic id (`Nats-Msg-Id`): a probe's is (location, site, scheduled time), a
transition's its `id`; the stream's duplicate window drops a second copy, so a retry, a spool replayed after a
restart, or a second evaluator never stores an event twice. Payloads are JSON objects with a format version.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from monitoringapp.domain.events import ALERT_KINDS, AlertTransition, ErrorKind, Probe, TransitionKind
from monitoringapp.domain.timefmt import iso_utc, parse_iso

STREAM = "MONITOR"
SUBJECTS = ("monitor.probe.>", "monitor.state.>", "monitor.event.>")
PROBES = ("monitor.probe.>",)
TRANSITIONS = ("monitor.state.>", "monitor.event.>")
BUCKETS = 64
FORMAT = 1
HEADER_FORMAT = "Monitor-Format"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ERRORS = {kind.value: kind for kind in ErrorKind}
# What decoding a message that is not one of ours raises: not JSON (or not text), not an object, a field missing
# or of another type.
_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError)


def valid_location(name: str) -> bool:
    """A location name is one subject token: letters, digits, `_` and `-`."""
    return bool(_TOKEN.match(name))


def site_hash(site: str) -> str:
    return hashlib.sha256(site.encode()).hexdigest()[:16]


def bucket(site: str) -> int:
    return int(site_hash(site)[:8], 16) % BUCKETS


def partition_subjects(index: int, count: int) -> tuple[str, ...]:
    """The probe subjects of partition `index` of `count` (buckets b with b % count == index)."""
    return tuple(f"monitor.probe.{b:02x}.*" for b in range(BUCKETS) if b % count == index)


def location_probe_subjects(location: str) -> tuple[str, ...]:
    """The probe subjects of one location's probes (every bucket)."""
    return (f"monitor.probe.*.{location}",)


def probe_message(probe: Probe) -> tuple[str, str, bytes]:
    """(subject, message id, payload) of a probe."""
    body: dict[str, Any] = {
        "v": FORMAT, "t": iso_utc(probe.timestamp), "h": probe.host, "a": probe.available, "s": probe.status,
        "r": probe.response_time_ms, "e": probe.error.value if probe.error is not None else None,
        "l": probe.location, "d": probe.detail}
    if probe.certificate_expiry is not None:
        body["n"] = iso_utc(probe.certificate_expiry)  # an https probe's certificate's notAfter
    subject = f"monitor.probe.{bucket(probe.host):02x}.{probe.location}"
    return subject, f"p|{probe.location}|{probe.host}|{body['t']}", _dump(body)


def probe_from_message(payload: bytes) -> Probe | None:
    """The probe a message holds; None for a message that is none of ours (anyone may publish on the stream's
    subjects, and a reader that stopped at it would stop at it again at every start). An error kind this version
    does not know (a newer prober's) is `other`: the probe is down all the same."""
    try:
        body = json.loads(payload)
        not_after = body.get("n")  # absent from a message of a version before certificates
        return Probe(parse_iso(body["t"]), body["h"], bool(body["a"]), body["s"], body["r"],
                     _ERRORS.get(body["e"], ErrorKind.OTHER) if body["e"] else None, body["l"], body.get("d"),
                     parse_iso(not_after) if not_after else None)
    except _UNREADABLE:
        return None


def transition_message(transition: AlertTransition) -> tuple[str, str, bytes]:
    """(subject, message id, payload) of a transition."""
    body = {"v": FORMAT, "t": iso_utc(transition.timestamp), "h": transition.host, "k": transition.kind.value,
            "av": transition.availability, "s": iso_utc(transition.start),
            "e": iso_utc(transition.end) if transition.end is not None else None,
            "l": transition.location, "d": transition.detail}
    hashed = site_hash(transition.host)
    subject = (f"monitor.state.{hashed}" if transition.kind in ALERT_KINDS
               else f"monitor.event.{transition.kind.value}.{hashed}")
    return subject, f"t|{transition.id}", _dump(body)


_KINDS = {kind.value: kind for kind in TransitionKind}


def transition_from_message(payload: bytes) -> AlertTransition | None:
    """The transition a message holds; None for a kind this version does not know (a newer writer's), or a
    message that is none of ours."""
    try:
        body = json.loads(payload)
        kind = _KINDS.get(body["k"])
        if kind is None:
            return None
        return AlertTransition(parse_iso(body["t"]), body["h"], kind, body["av"], parse_iso(body["s"]),
                               parse_iso(body["e"]) if body["e"] else None, body["l"], body.get("d"))
    except _UNREADABLE:
        return None


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()
