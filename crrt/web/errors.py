"""Errors shown to people as pages (placeholder until the web shell lands)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response


def page_for(request: Request, *, status: int, title: str, detail: str) -> Response:
    return HTMLResponse(f"<h1>{title}</h1><p>{detail}</p>", status_code=status)
