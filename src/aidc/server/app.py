"""The FastAPI application: wiring of settings, database, executor, scheduling loop, routes and errors."""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from aidc.server.db import create_schema, make_engine, make_session_factory
from aidc.server.deps import get_principal
from aidc.server.errors import Forbidden, ServiceError
from aidc.server.metrics import Metrics
from aidc.server.services.limits import TenantLimits
from aidc.server.settings import Settings

log = logging.getLogger("aidc.server")


def _write_admin_token(data_dir: Path, token: str) -> Path:
    path = data_dir / "admin.token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return path


def _protect(settings: Settings) -> None:
    """The data dir is the server's: others may pass through it to their own job's folder (Slurm runs a job
    as its tenant's user), never list it or read the database."""
    os.chmod(settings.data_dir, 0o711)
    if settings.db_url.startswith("sqlite:///"):
        db = Path(settings.db_url.removeprefix("sqlite:///"))
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            if path.exists():
                os.chmod(path, 0o600)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        startup(app, settings)
        tune_gc()
        try:
            yield
        finally:
            shutdown(app)

    app = FastAPI(title="aidc control plane", version="0.1.0", lifespan=lifespan,
                  description="Datacenters, nodes, tenants, tokens and LLM jobs, scheduled by aidc's shared scheduler.")
    app.state.settings = settings
    app.state.limits = TenantLimits(max_pending=settings.max_pending_jobs_per_tenant, max_replicas=settings.max_replicas,
                                    rate_per_s=settings.submit_rate_per_tenant, burst=settings.submit_burst)
    app.state.metrics = Metrics()
    app.state.loop = None
    _add_middleware(app, settings)
    _add_error_handlers(app)
    _add_routes(app)
    return app


def tune_gc() -> None:
    """Fewer, cheaper garbage collections: what was loaded at start is frozen out of them, and the young
    generation is collected every 50,000 allocations instead of 700 (a request allocates thousands of
    short-lived objects; each full collection walked every module, model and route, tens of ms)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)



def startup(app: FastAPI, settings: Settings) -> None:
    from aidc.executors import get_executor
    from aidc.server.loop import SchedulingLoop
    from aidc.server.services import auth
    from aidc.server.services.batch import SubmitBatcher
    from aidc.server.services.health import HealthMonitor
    from aidc.server.services.scheduler import Scheduler

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    create_schema(engine)
    _protect(settings)
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    with app.state.sessions() as session:
        token = auth.bootstrap(session, token=settings.bootstrap_token)
    if token is not None:
        path = _write_admin_token(settings.data_dir, token)
        log.warning("created the admin user; its token is in %s", path)
    if settings.initial_datacenter is not None:
        _import_initial(app, settings.initial_datacenter)
    app.state.batcher = SubmitBatcher(app.state.sessions)
    options = dict(settings.executor_options)
    if settings.executor == "local":  # the server's own settings, under what AIDC_EXECUTOR_OPTIONS says
        options["sandbox"] = settings.sandbox_options(options.get("sandbox") or {})
    app.state.executor = get_executor(settings.executor, **options)
    if hasattr(app.state.executor, "describe_isolation"):
        log.warning("%s", app.state.executor.describe_isolation())
    app.state.monitor = HealthMonitor(rules=settings.health_rules())
    from aidc.server.services.predictor import LivePredictor

    app.state.predictor = LivePredictor(refit_s=settings.predictor_refit_s) if settings.runtime_predictor else None
    scheduler = Scheduler(executor=app.state.executor, jobs_dir=settings.jobs_dir, policy=settings.policy,
                          placement=settings.placement, isolate_tenants=settings.isolate_tenants,
                          health=app.state.monitor, server_url=settings.server_url, predictor=app.state.predictor)
    app.state.loop = SchedulingLoop(scheduler, app.state.sessions, settings.schedule_interval_s, app.state.metrics)
    if settings.start_loop:
        app.state.loop.start()


def _import_initial(app: FastAPI, path: Path) -> None:
    """Import a spec at start when the database holds no datacenter yet (the embedded quick start)."""
    from aidc.server.security import Principal, Role
    from aidc.server.services import datacenters

    with app.state.sessions() as session:
        if datacenters.list_all(session):
            return
        system = Principal(user_id=1, user="system", role=Role.ADMIN, tenant_id=None, tenant=None, token_id=0)
        datacenters.import_spec(session, actor=system, yaml_text=path.read_text(), source=str(path))


def shutdown(app: FastAPI) -> None:
    if app.state.loop is not None:
        app.state.loop.stop()
    if getattr(app.state, "batcher", None) is not None:
        app.state.batcher.stop()
    finish = getattr(getattr(app.state, "executor", None), "finish_stops", None)
    if finish is not None:  # jobs asked to stop are not left half-stopped (running jobs stay running)
        finish(timeout_s=10.0)
    if getattr(app.state, "engine", None) is not None:
        app.state.engine.dispose()


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(LimitsAndTiming, max_body_bytes=settings.max_body_bytes, metrics=app.state.metrics)


class LimitsAndTiming:
    """Refuse oversized bodies (413) and time every request into the API latency histogram.

    A plain ASGI middleware: FastAPI's `@app.middleware("http")` wraps each request in an extra task
    and stream, which cost the hot submit path about a fifth of its time.
    """

    def __init__(self, app, *, max_body_bytes: int, metrics: Metrics) -> None:  # noqa: ANN001
        self.app, self.max_body_bytes, self.metrics = app, max_body_bytes, metrics

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            response = JSONResponse({"detail": f"request body over {self.max_body_bytes} bytes"}, status_code=413)
            await response(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_timed(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            route = scope.get("route")
            self.metrics.api_s.labels(method=scope["method"], route=getattr(route, "path", "other"),
                                      status=str(status["code"])).observe(time.perf_counter() - t0)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if getattr(exc, "retry_after_s", None) is not None:
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
        return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request body"
            problems.append(f"{path}: {err.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems), "errors": jsonable([_bounded(e) for e in exc.errors()])},
                            status_code=422)


def _bounded(err: dict) -> dict:
    """A validation error without a whole refused value in it: a 1 MB command is quoted by its start."""
    from aidc.core.strict import MAX_TEXT_PREVIEW, preview

    out = {k: v for k, v in err.items() if k not in ("input", "url", "ctx")}
    value = err.get("input")
    if isinstance(value, (str, bytes)) and len(value) > MAX_TEXT_PREVIEW:
        out["input"] = preview(value)
    elif isinstance(value, float) and not math.isfinite(value):
        out["input"] = repr(value)  # 'inf', 'nan': JSON has no such numbers
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        out["input"] = preview(value)  # a 400-digit integer is not echoed back whole
    elif isinstance(value, (int, float, bool, str, type(None))):
        out["input"] = value
    if isinstance(err.get("ctx"), dict):
        out["ctx"] = {k: v if isinstance(v, (int, bool)) or (isinstance(v, float) and math.isfinite(v)) else preview(v)
                      for k, v in err["ctx"].items()}
    return out


def jsonable(errors: object) -> object:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors, custom_encoder={Exception: str, bytes: lambda b: b.decode(errors="replace")})


def _add_routes(app: FastAPI) -> None:
    from aidc.server import web
    from aidc.server.routers import admin, agents, deployments, jobs, ui_api

    app.include_router(admin.router)
    app.include_router(agents.router)
    app.include_router(jobs.router)
    app.include_router(deployments.router)
    app.include_router(ui_api.router)
    app.include_router(web.router)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, object]:
        loop = app.state.loop
        return {"ok": True, "cycles": loop.cycles if loop else 0}

    @app.get("/metrics", tags=["meta"], response_class=Response)
    def metrics(me=Depends(get_principal)) -> Response:  # noqa: ANN001, B008
        if not me.is_staff:
            raise Forbidden("metrics are for operators and admins")
        with app.state.sessions() as session:  # queue and allocation gauges are read at scrape time
            app.state.metrics.refresh_gauges(session)
        return Response(app.state.metrics.render(), media_type="text/plain; version=0.0.4")
