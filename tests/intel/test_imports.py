"""What an import refuses, it refuses with a reason, in bounded time: never a crash."""

from __future__ import annotations

import pytest

from crrt.access.enums import Tlp
from crrt.intel import imports


@pytest.mark.parametrize(("content", "reason"), [
    (b"[" * (8 * 1024 * 1024), "nests too deeply"),
    (b"value\n" + b"a" * 200_000 + b"\n", "not CSV"),
    (b"\xff\xfe garbage", "not UTF-8"),
    (b'{"name": "neither"}', "neither a STIX bundle nor a MISP event"),
    (b"type,value\nnot-a-type,1.2.3.4\n", "not a type of value"),
    (b"type,value\n\nipv4-addr,300.1.1.1\n", "line 3"),
])
def test_bad_files_are_refused_with_a_reason(content, reason):
    with pytest.raises(imports.NotImportable, match=reason):
        imports.objects_of(content, code="EE", name="Estonia", tlp=Tlp.GREEN)


def test_the_formats_are_found_from_the_content():
    assert imports.objects_of(b"198.51.100.7\nevil.example\n", code="EE", name="Estonia",
                              tlp=Tlp.GREEN)[0] == imports.CSV
    assert imports.objects_of(b'{"type": "bundle", "objects": []}', code="EE",
                              name="Estonia", tlp=Tlp.GREEN) == (imports.STIX, [])
