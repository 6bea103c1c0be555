"""/api/v1 tenants, users, tokens, datacenters, nodes and usage."""

from __future__ import annotations

from fastapi import APIRouter, Request

from aidc.server.deps import PrincipalDep, RowId, SessionDep
from aidc.core.tenancy import TenantSandbox
from aidc.server.models import UserModel
from aidc.server.routers.convert import tenant_out, token_out
from aidc.server.schemas import (DatacenterImport, DatacenterOut, NodeOut, QuotaUpdate, Reason, TenantCreate, TenantOut,
                                 TokenCreate, TokenOut, UsageOut, UserCreate, UserOut)
from aidc.server.services import auth, datacenters, jobs, nodes, tenants, usage
from aidc.server.services.snapshot import used_gpu_indices

router = APIRouter(prefix="/api/v1")


def wake(request: Request) -> None:
    """Tell the scheduling loop something changed (no loop in some tests and tools)."""
    loop = getattr(request.app.state, "loop", None)
    if loop is not None:
        loop.wake()


@router.get("/whoami", tags=["auth"])
def whoami(me: PrincipalDep) -> dict[str, str | None]:
    return {"user": me.user, "role": me.role.value, "tenant": me.tenant}


@router.post("/tenants", status_code=201, response_model=TenantOut, tags=["tenants"])
def create_tenant(body: TenantCreate, session: SessionDep, me: PrincipalDep) -> TenantOut:
    return tenant_out(tenants.create(session, actor=me, name=body.name, description=body.description,
                                     gpu_quota=body.gpu_quota, allow_borrowing=body.allow_borrowing,
                                     sandbox=body.sandbox))


@router.get("/tenants", response_model=list[TenantOut], tags=["tenants"])
def list_tenants(session: SessionDep, me: PrincipalDep) -> list[TenantOut]:
    return [tenant_out(t) for t in tenants.list_visible(session, actor=me)]


@router.put("/tenants/{name}/quota", response_model=TenantOut, tags=["tenants"])
def set_quota(name: str, body: QuotaUpdate, request: Request, session: SessionDep, me: PrincipalDep) -> TenantOut:
    wake(request)
    return tenant_out(tenants.set_quota(session, actor=me, name=name, gpu_quota=body.gpu_quota,
                                        allow_borrowing=body.allow_borrowing))


@router.put("/tenants/{name}/sandbox", response_model=TenantOut, tags=["tenants"])
def set_sandbox(name: str, body: TenantSandbox, session: SessionDep, me: PrincipalDep) -> TenantOut:
    """Volumes, Unix uid and isolation of a tenant's jobs (admins); applies to jobs started from now on."""
    return tenant_out(tenants.set_sandbox(session, actor=me, name=name, sandbox=body))


@router.post("/users", status_code=201, response_model=UserOut, tags=["auth"])
def create_user(body: UserCreate, session: SessionDep, me: PrincipalDep) -> UserOut:
    user = auth.create_user(session, actor=me, name=body.name, role=body.role, tenant=body.tenant)
    return UserOut(name=user.name, role=user.role, tenant=body.tenant)


@router.get("/users", response_model=list[UserOut], tags=["auth"])
def list_users(session: SessionDep, me: PrincipalDep) -> list[UserOut]:
    by_id = {t.id: t.name for t in tenants.list_visible(session, actor=me)}
    return [UserOut(name=u.name, role=u.role, tenant=by_id.get(u.tenant_id)) for u in auth.list_users(session, actor=me)]


@router.post("/tokens", status_code=201, response_model=TokenOut, tags=["auth"])
def create_token(body: TokenCreate, session: SessionDep, me: PrincipalDep) -> TokenOut:
    row, plain = auth.create_token(session, actor=me, user=body.user, ttl_days=body.ttl_days, description=body.description)
    return token_out(row, body.user or me.user, plain)


@router.get("/tokens", response_model=list[TokenOut], tags=["auth"])
def list_tokens(session: SessionDep, me: PrincipalDep) -> list[TokenOut]:
    return [token_out(t, u) for t, u in auth.list_tokens(session, actor=me)]


@router.delete("/tokens/{token_id}", response_model=TokenOut, tags=["auth"])
def revoke_token(token_id: RowId, session: SessionDep, me: PrincipalDep) -> TokenOut:
    row = auth.revoke_token(session, actor=me, token_id=token_id)
    owner = session.get(UserModel, row.user_id)
    return token_out(row, owner.name if owner else me.user)  # the token's owner, not who revoked it


@router.post("/datacenters", status_code=201, response_model=DatacenterOut, tags=["inventory"])
def import_datacenter(body: DatacenterImport, request: Request, session: SessionDep, me: PrincipalDep) -> DatacenterOut:
    row = datacenters.import_spec(session, actor=me, yaml_text=body.yaml, source=body.source)
    wake(request)
    return _dc_out(session, row)


@router.get("/datacenters", response_model=list[DatacenterOut], tags=["inventory"])
def list_datacenters(session: SessionDep, me: PrincipalDep) -> list[DatacenterOut]:
    return [_dc_out(session, row) for row in datacenters.list_all(session)]


def _dc_out(session: SessionDep, row) -> DatacenterOut:  # row: DatacenterModel
    members = [n for n in nodes.list_all(session) if n.datacenter_id == row.id]
    return DatacenterOut(name=row.name, nodes=len(members), gpus=sum(n.gpus for n in members), imported_s=row.imported_s)


def _node_out(node, used: dict[str, set[int]]) -> NodeOut:  # node: NodeModel
    return NodeOut(name=node.name, rack=node.rack, gpu_model=node.gpu_model, gpus=node.gpus,
                   gpus_used=len(used.get(node.name, ())), tenant=node.tenant, status=node.status,
                   status_reason=node.status_reason)


@router.get("/nodes", response_model=list[NodeOut], tags=["inventory"])
def list_nodes(session: SessionDep, me: PrincipalDep) -> list[NodeOut]:
    used = used_gpu_indices(jobs.live(session))
    return [_node_out(n, used) for n in nodes.list_all(session)]


@router.post("/nodes/{name}/{action}", response_model=NodeOut, tags=["inventory"])
def node_action(name: str, action: str, body: Reason, request: Request, session: SessionDep, me: PrincipalDep) -> NodeOut:
    n = nodes.act(session, actor=me, name=name, action=action, reason=body.reason)  # unknown actions: 404 there
    wake(request)
    return _node_out(n, used_gpu_indices(jobs.live(session)))


@router.get("/usage", response_model=list[UsageOut], tags=["usage"])
def get_usage(session: SessionDep, me: PrincipalDep) -> list[UsageOut]:
    return [UsageOut(**row) for row in usage.usage(session, actor=me)]
