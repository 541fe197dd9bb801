"""A real webhook receiver: an HTTP server on 127.0.0.1 that checks every delivery's signature
with the reference verifier of the Standard Webhooks specification (``standardwebhooks``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    payload: Any  # what the verifier returned, or None when it refused
    refusal: str  # why the verifier refused, or ""


class Receiver:
    """Answers 204 to a delivery that verifies with ``secret``, 401 to one that does not;
    ``answers`` (status codes, used in turn) override that."""

    def __init__(self) -> None:
        self.secret = ""
        self.answers: list[int] = []
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload, refusal = Webhook(receiver.secret).verify(body, headers), ""
                except WebhookVerificationError as exc:
                    payload, refusal = None, str(exc)
                receiver.deliveries.append(Delivery(headers, body, payload, refusal))
                status = receiver.answers.pop(0) if receiver.answers else (
                    204 if refusal == "" else 401)
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", f"{receiver.url}/moved")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/crrt"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
