"""A sealed secret opens only under its key and purpose, unaltered, and shows nothing of
itself."""

from __future__ import annotations

import pytest

from crrt.core import secretbox

KEY = "a server's secret key, long enough"


def test_a_sealed_secret_opens_under_its_key_and_purpose_only():
    sealed = secretbox.seal(KEY, "peer:1", "token-Ä-" + "x" * 100)
    assert secretbox.unseal(KEY, "peer:1", sealed) == "token-Ä-" + "x" * 100
    assert "token" not in sealed and sealed.isascii()
    assert sealed != secretbox.seal(KEY, "peer:1", "token-Ä-" + "x" * 100)  # a new nonce
    for key, purpose, text in ((KEY, "peer:2", sealed), ("another key", "peer:1", sealed),
                               (KEY, "peer:1", sealed[:-6] + ("A" if sealed[-6] != "A" else "B")
                                + sealed[-5:]),
                               (KEY, "peer:1", "v1.bm9wZQ"), (KEY, "peer:1", "v2." + sealed[3:]),
                               (KEY, "peer:1", "not sealed at all")):
        with pytest.raises(secretbox.Unreadable):
            secretbox.unseal(key, purpose, text)
