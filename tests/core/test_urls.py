"""The URLs crrt calls out to: webhook endpoints and federation peers alike."""

from __future__ import annotations

import pytest

from crrt.core import urls
from crrt.core.errors import Invalid


@pytest.mark.parametrize(("url", "accepted"), [
    ("https://soc.ee.example/hooks", True),
    ("http://127.0.0.1:8080/hooks", True),
    ("http://localhost/hooks", True),
    ("http://[::1]:9000/hooks", True),
    ("http://soc.ee.example/hooks", False),
    ("http://10.0.0.1/hooks", False),
    ("ftp://soc.ee.example/hooks", False),
    ("https://user:pass@soc.ee.example/hooks", False),
    ("https:///no-host", False),
    ("https://soc.ee.example:99999/", False),
])
def test_urls_called_out_to_are_https_or_loopback(url, accepted):
    if accepted:
        assert urls.check(url) == url
    else:
        with pytest.raises(Invalid):
            urls.check(url)


def test_a_refused_url_names_the_field_it_came_in():
    with pytest.raises(Invalid) as refused:
        urls.check("http://node.lt.example/taxii2/", field="api_root")
    assert [e.loc for e in refused.value.errors] == [["api_root"]]
