"""The HTTP floor for bench/taxii.py: the pages of a collection served by a bare ASGI app under
uvicorn, as crrt serves them (same server, same bytes), but built before the first request:
no database, no framework, no authentication. What a client reading it gets a second is the
most any server of these pages over HTTP could give that client here.

``python bench/taxii_floor.py PORT OBJECTS.json PAGE``; ``GET /?next=N`` is the page from N.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn

TAXII = b"application/taxii+json;version=2.1"


def pages(objects: list[dict[str, Any]], size: int) -> dict[int, bytes]:
    """Each page's answer, keyed by where it starts; ``next`` is where the following one does."""
    out = {}
    for start in range(0, len(objects), size):
        following = start + size
        head: dict[str, Any] = {"more": following < len(objects)}
        if following < len(objects):
            head["next"] = str(following)
        out[start] = json.dumps(head | {"objects": objects[start:following]},
                                separators=(",", ":")).encode()
    return out


def app_of(served: dict[int, bytes]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        body = served.get(int(query.get("next", ["0"])[0]), b'{"more":false}')
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", TAXII), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return app


if __name__ == "__main__":
    port, source, size = int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    uvicorn.run(app_of(pages(json.loads(source.read_text()), size)), host="127.0.0.1",
                port=port, log_level="warning")
