"""A TAXII 2.1 client for one peer's collection (any conformant server: another crrt node,
medallion, a vendor's): its objects a page at a time, and envelopes sent to it.

Requests time out per step and per answer, answers are bounded in size, redirects are not
followed (a token must not go elsewhere), nothing is taken from the environment (no proxy,
no ``.netrc``), and no error carries the token.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from crrt.intel.enums import PeerAuth

TAXII = "application/taxii+json;version=2.1"
STEP_SECONDS = 10.0  # connecting, each read, each write
ANSWER_SECONDS = 60.0  # one whole answer, however slowly it drips; a POST's status as well
MAX_ANSWER = 32 * 1024 * 1024
MAX_SEND = 8 * 1024 * 1024  # an envelope we send (crrt takes 16 MiB)
MAX_ERROR = 1000
MAX_STATUS_ID = 200
# Refusals of the request rather than of what an envelope holds: sending it in halves cannot
# help, and counting its objects refused would skip them for good (an expired token, say)
NOT_THE_CONTENT = frozenset({401, 403, 404, 405, 406, 407, 408, 415, 429})


class PeerFailed(Exception):
    """A request to the peer failed; the message says why, without secrets."""


class NextRefused(PeerFailed):
    """The peer refused a ``next`` token it gave (it forgot it, or restarted)."""


class EnvelopeRefused(PeerFailed):
    """The peer refused an envelope whole (a 4xx about its content: too large, one object it
    will not take): the same envelope would be refused again."""


def scrub(text: str, token: str | None) -> str:
    """``text`` bounded, and without the token, should a server have echoed it."""
    if token:
        text = text.replace(token, "[token]")
    return text[:MAX_ERROR]


def client() -> httpx.Client:
    """TLS verified, no redirect followed, bounded steps, nothing from the environment."""
    return httpx.Client(timeout=STEP_SECONDS, follow_redirects=False, verify=True,
                        trust_env=False)


class Remote:
    """The peer's TAXII 2.1 collection over one HTTP client (its connections reused)."""

    def __init__(self, http: httpx.Client, *, objects_url: str, auth: PeerAuth, username: str,
                 token: str | None) -> None:
        self.http = http
        self.objects_url = objects_url
        # {api root}collections/{id}/objects/ → {api root}status/
        self.status_url = objects_url.rsplit("collections/", 1)[0] + "status/"
        self.token = token
        self.headers = {"Accept": TAXII}
        if token and auth is PeerAuth.BASIC:
            pair = f"{username}:{token}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        elif token:
            self.headers["Authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:
        return f"Remote({self.objects_url!r})"

    def scrub(self, text: str) -> str:
        return scrub(text, self.token)

    def _call(self, method: str, params: dict[str, str] | None = None,
              body: bytes | None = None, url: str | None = None
              ) -> tuple[httpx.Response, bytes]:
        url = url or self.objects_url
        headers = dict(self.headers) | ({"Content-Type": TAXII} if body is not None else {})
        # a POST's answer comes once the peer has stored the envelope: wait for it as long
        # as for a whole answer
        timeout = httpx.Timeout(STEP_SECONDS, read=ANSWER_SECONDS) if body is not None \
            else httpx.Timeout(STEP_SECONDS)
        deadline = time.monotonic() + ANSWER_SECONDS
        try:
            with self.http.stream(method, url, params=params, content=body,
                                  headers=headers, timeout=timeout) as answer:
                chunks, size = [], 0
                for chunk in answer.iter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER:
                        raise PeerFailed(f"the answer is larger than {MAX_ANSWER // 2**20} MiB")
                    if time.monotonic() > deadline:
                        raise PeerFailed(f"the answer took over {ANSWER_SECONDS:.0f} s")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise PeerFailed(self.scrub(
                f"{method} {url}: {type(exc).__name__}: {exc}")) from None
        return answer, b"".join(chunks)

    def _json(self, answer: httpx.Response, content: bytes, expected: tuple[int, ...]
              ) -> dict[str, Any]:
        if answer.status_code not in expected:
            raise PeerFailed(self.scrub(refusal(answer.status_code, content)))
        kind = answer.headers.get("content-type", "").replace(" ", "").lower()
        if not kind.startswith(("application/taxii+json", "application/json")):
            raise PeerFailed(f"the peer answered {kind or 'no content type'}, not TAXII JSON")
        try:
            found = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise PeerFailed("the peer's answer is not JSON") from None
        if not isinstance(found, dict):
            raise PeerFailed("the peer's answer is not a JSON object")
        return found

    def objects(self, *, added_after: str | None, next_token: str | None, limit: int
                ) -> tuple[dict[str, Any], str | None]:
        """One page (the envelope) and its ``X-TAXII-Date-Added-Last``."""
        params = {"limit": str(limit), "match[version]": "all"}
        if added_after:
            params["added_after"] = added_after
        if next_token:
            params["next"] = next_token
        answer, content = self._call("GET", params=params)
        if next_token and answer.status_code in (400, 404):
            raise NextRefused(self.scrub(refusal(answer.status_code, content)))
        envelope = self._json(answer, content, (200,))
        if not isinstance(envelope.get("objects", []), list):
            raise PeerFailed("the peer's envelope holds no list of objects")
        return envelope, answer.headers.get("x-taxii-date-added-last")

    def add(self, objects: list[dict[str, Any]]) -> dict[str, Any]:
        """Send an envelope; the peer's status resource. :class:`EnvelopeRefused` if the peer
        refused it for what it holds."""
        answer, content = self._call("POST", body=orjson.dumps({"objects": objects}))
        code = answer.status_code
        if 400 <= code < 500 and code not in NOT_THE_CONTENT:
            raise EnvelopeRefused(self.scrub(refusal(code, content)))
        return self._status(self._json(answer, content, (200, 201, 202)))

    def status(self, status_id: str) -> dict[str, Any]:
        """The status resource of an envelope sent, asked again (one the peer was still
        working on when it answered); an id that is no path segment of its own is refused."""
        if not 0 < len(status_id) <= MAX_STATUS_ID or status_id in (".", ".."):
            raise PeerFailed("the peer's status id is not one to ask by")
        answer, content = self._call("GET", url=self.status_url + quote(status_id, safe="")
                                     + "/")
        return self._status(self._json(answer, content, (200,)))

    @staticmethod
    def _status(status: dict[str, Any]) -> dict[str, Any]:
        counts = [status.get(k, 0) for k in ("success_count", "failure_count", "pending_count")]
        if "status" not in status or not all(isinstance(c, int) and not isinstance(c, bool)
                                             and c >= 0 for c in counts):
            raise PeerFailed("the peer did not answer with a TAXII status resource")
        return status


def refusal(code: int, content: bytes) -> str:
    """Why the peer said no, in words: its TAXII error's title and description if any."""
    meaning = {401: "the peer refused our credentials",
               403: "the peer's account may not do this",
               404: "no such collection at the peer (or our account does not read it)",
               406: "the peer does not speak TAXII 2.1 here",
               413: "the envelope is larger than the peer takes",
               415: "the peer does not take TAXII 2.1 envelopes here"}.get(code, "")
    detail = ""
    try:
        found = orjson.loads(content[:65536])
        if isinstance(found, dict):
            detail = " ".join(str(found.get(k, "")) for k in ("title", "description")).strip()
    except orjson.JSONDecodeError:
        pass
    text = f"HTTP {code}" + (f" ({meaning})" if meaning else "")
    return text + (f": {detail[:300]}" if detail else "")
