"""HTTP client of the control plane for the CLI: where the server is, which token, and error handling."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aidc.core.errors import AidcError

DEFAULT_URL = "http://127.0.0.1:8700"
CONFIG = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "aidc" / "client.yaml"


class ApiError(AidcError):
    """A refused request, with the server's own explanation."""


def _config() -> dict[str, str]:
    if CONFIG.exists():
        from aidc.core.spec_io import read_spec_text, safe_yaml

        data = safe_yaml(read_spec_text(CONFIG), str(CONFIG)) or {}
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {}


def endpoint() -> tuple[str, str | None]:
    """(URL, token): environment first (AIDC_URL, AIDC_TOKEN), then the config file, then the local admin token."""
    cfg = _config()
    url = os.environ.get("AIDC_URL") or cfg.get("url") or DEFAULT_URL
    token = os.environ.get("AIDC_TOKEN") or cfg.get("token")
    if not token:
        local = Path(os.environ.get("AIDC_DATA_DIR", ".aidc")) / "admin.token"
        token = local.read_text().strip() if local.exists() else None
    return url.rstrip("/"), token


def save_login(url: str, token: str) -> Path:
    import yaml

    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(CONFIG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump({"url": url, "token": token}, fh)
    return CONFIG


def request(method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None, raw: bool = False,
            timeout_s: float = 30.0) -> Any:
    """Call the API; a refusal becomes ApiError with the status and the server's message."""
    import httpx

    url, token = endpoint()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = httpx.request(method, url + path, json=json, params={k: v for k, v in (params or {}).items() if v is not None},
                             headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach the aidc server at {url} ({exc.__class__.__name__}): start it with `aidc server`") from None
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        raise ApiError(f"{resp.status_code}: {detail}")
    if raw:
        return resp
    return resp.json() if resp.content else None
