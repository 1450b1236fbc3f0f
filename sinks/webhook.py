"""Our own webhook: one POST per notice, its JSON body (`Notice.body`, with `version`) and `Idempotency-Key`.

A 2xx answer is delivered; any other answer, a timeout or a refused connection is a `DeliveryFailed`,
retried by the notifier. Redirects are not followed (a POST that is redirected is not delivered).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import requests

from monitoringapp import __version__
from monitoringapp.domain.notices import Notice
from monitoringapp.sinks.channels import DeliveryFailed

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_TLS = re.compile(r"\[SSL: [A-Z0-9_]+\] (.+?) \(_ssl")  # `[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify ...`


class WebhookChannel:
    """POSTs to `url`; each request bounded by `timeout` seconds."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self._session = requests.Session()
        self._headers = {"User-Agent": f"monitoringApp/{__version__}"}

    def send(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            self._post(notice)

    def _post(self, notice: Notice) -> None:
        try:
            response = self._session.post(self.url, json=notice.body(), timeout=self.timeout, allow_redirects=False,
                                          headers={**self._headers, "Idempotency-Key": notice.id})
        except requests.Timeout:
            raise DeliveryFailed(f"no answer within {self.timeout:g} s") from None
        except requests.exceptions.SSLError as error:  # a ConnectionError too: the TLS reason says more
            reason = _TLS.search(str(error))
            raise DeliveryFailed(f"TLS: {reason.group(1).rstrip('. ') if reason else 'handshake failed'}") from None
        except requests.ConnectionError as error:
            # requests' own text names the URL; the reason alone says what went wrong.
            reason = _ERRNO.search(str(error))
            raise DeliveryFailed(f"cannot connect: {reason.group(1).strip() if reason else 'connection failed'}") \
                from None
        except requests.RequestException as error:
            raise DeliveryFailed(f"request failed: {type(error).__name__}") from None
        with response:
            if not 200 <= response.status_code < 300:
                raise DeliveryFailed(f"HTTP {response.status_code}")

    def close(self) -> None:
        self._session.close()
