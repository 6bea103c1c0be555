"""The web dashboard: an HTML shell and static ES modules under /ui; all data comes from /api/v1 with a token."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


def plotly_js() -> Path | None:
    """plotly.min.js from the installed `plotly` package (shipped offline); None when plotly is not installed."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def static_file(rel: str) -> Path | None:
    """A file under STATIC_DIR, or None (also for any path that would leave it)."""
    path = (STATIC_DIR / rel).resolve()
    if STATIC_DIR not in path.parents or not path.is_file():
        return None
    return path


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/")


@router.get("/ui")
@router.get("/ui/")
def shell() -> FileResponse:
    """The one HTML page; routing is by URL fragment (#/jobs/7), so deep links need no server route."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/ui/static/vendor/plotly.min.js")
def vendor_plotly() -> Response:
    path = plotly_js()
    if path is None:
        return Response("/* plotly is not installed: charts are off */", media_type="text/javascript")
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


@router.get("/ui/static/{rel:path}")
def static(rel: str) -> Response:
    path = static_file(rel)
    if path is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "no-cache"})
