"""`--site URL`: any spelling of a stored site's URL names it."""

from __future__ import annotations

from monitoringapp.app.sites import site_filter, stored_spellings


def test_any_spelling_names_the_stored_site_an_international_host_in_either_form() -> None:
    known = ["http://bücher.test/", "http://a.test/", "http://a.test:8080/"]
    assert stored_spellings("HTTP://A.test:80", known) == {"http://a.test/"}
    assert stored_spellings("http://xn--bcher-kva.test", known) == {"http://bücher.test/"}
    assert stored_spellings("http://BÜCHER.test/", known) == {"http://bücher.test/"}
    assert site_filter("http://b.test/", known) == ({"http://b.test/"}, "")
