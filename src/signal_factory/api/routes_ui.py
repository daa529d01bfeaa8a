"""The web UI's files, the single-page-app fallback (`/incidents/INC-1` -> index.html), and JSON 404s
for unknown `/api/...` paths. Registered last, after every API route."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

MISSING_UI = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signal Factory</title></head>
<body><h1>Signal Factory</h1><p>The web UI assets are missing (no <code>index.html</code> in
<code>signal_factory/api/static/</code>). The API is running: see <a href="/docs">/docs</a> and
<a href="/api/v1/datasets">/api/v1/datasets</a>.</p></body></html>
"""


@router.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def unknown_api(rest: str, request: Request) -> Response:
    raise HTTPException(404, f"no API route {request.method} /api/{rest}; /openapi.json (or /docs) lists the routes")


@router.get("/{path:path}")
def ui(path: str, request: Request) -> Response:
    static: Path = request.app.state.static_dir
    root = static.resolve()
    if path:
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return FileResponse(candidate)
    index = root / "index.html"
    if index.is_file():
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})
    return HTMLResponse(MISSING_UI)
