"""`aidc server` (run the control plane) and `aidc login` (remember a server and token)."""

from __future__ import annotations

from pathlib import Path

import typer

from aidc.cli.common import console, reports_errors


@reports_errors
def server(
    host: str = typer.Option(None, help="Bind address (default 127.0.0.1; env AIDC_HOST)."),
    port: int = typer.Option(None, help="Port (default 8700; env AIDC_PORT)."),
    data_dir: Path = typer.Option(None, help="Database, logs and job folders (default .aidc; env AIDC_DATA_DIR)."),
    database_url: str = typer.Option(None, help="SQLAlchemy URL, e.g. postgresql+psycopg://... (env AIDC_DATABASE_URL)."),
    policy: str = typer.Option(None, help="Scheduling policy (default fairshare; env AIDC_POLICY)."),
    datacenter: Path = typer.Option(None, help="Import this datacenter spec at start if the database has none."),
) -> None:
    """Run the control plane: REST API under /api/v1, /metrics, /healthz, and the scheduling loop."""
    import uvicorn

    from aidc.server.app import create_app
    from aidc.server.settings import load_settings

    overrides = {k: v for k, v in {"host": host, "port": port, "data_dir": data_dir, "database_url": database_url,
                                   "policy": policy, "initial_datacenter": datacenter}.items() if v is not None}
    settings = load_settings(**overrides)
    from aidc.server.logs import configure

    configure()
    app = create_app(settings)
    out = console()
    out.print(f"aidc control plane on http://{settings.host}:{settings.port}  (data in {settings.data_dir}, "
              f"executor {settings.executor}, policy {settings.policy})")
    out.print(f"admin token (first start): {settings.data_dir / 'admin.token'}")
    if settings.port != 8700 or settings.host not in ("127.0.0.1", "localhost"):
        out.print(f"for the CLI elsewhere: export AIDC_URL=http://{settings.host}:{settings.port}")
    if settings.data_dir.resolve() != Path(".aidc").resolve():
        out.print(f"for the CLI elsewhere: export AIDC_DATA_DIR={settings.data_dir.resolve()}  (or AIDC_TOKEN=...)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


@reports_errors
def login(url: str = typer.Option(..., help="Server URL."), token: str = typer.Option(..., help="API token.")) -> None:
    """Remember a server URL and token for later commands (in ~/.config/aidc/client.yaml, mode 600)."""
    import os

    from aidc.cli.client import request, save_login

    os.environ["AIDC_URL"], os.environ["AIDC_TOKEN"] = url, token
    me = request("GET", "/api/v1/whoami")
    path = save_login(url, token)
    console().print(f"logged in to {url} as {me['user']} ({me['role']}); saved to {path}")


def register(app: typer.Typer) -> None:
    app.command("server")(server)
    app.command("login")(login)
