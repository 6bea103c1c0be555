"""Every route checks the caller: missing, unknown, expired and revoked tokens; roles and tenants."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from aidc.server.models import TokenModel
from aidc.server.security import hash_token
from aidc.server.services.auth import forget_cached_tokens
from tests.server.conftest import Api

ROUTES = [("GET", "/api/v1/jobs"), ("POST", "/api/v1/jobs"), ("GET", "/api/v1/jobs/1"), ("GET", "/api/v1/nodes"),
          ("GET", "/api/v1/tenants"), ("GET", "/api/v1/tokens"), ("GET", "/api/v1/usage"), ("GET", "/metrics"),
          ("GET", "/api/v1/export/trace.csv"), ("POST", "/api/v1/nodes/x/drain"), ("GET", "/api/v1/datacenters")]


@pytest.mark.parametrize("method,path", ROUTES)
def test_every_route_refuses_a_missing_or_unknown_token(api: Api, method: str, path: str) -> None:
    assert api.client.request(method, path).status_code == 401
    assert api.client.request(method, path, headers=api.h("aidc_not-a-token")).status_code == 401


def test_expired_and_revoked_tokens_are_refused(api: Api) -> None:
    token = api.user_token("alice", "member", "research")
    assert api.call("GET", "/api/v1/whoami", token).json() == {"user": "alice", "role": "member", "tenant": "research"}
    with api.client.app.state.sessions() as s:
        s.execute(update(TokenModel).where(TokenModel.token_sha256 == hash_token(token)).values(expires_s=time.time() - 1))
        s.commit()
    forget_cached_tokens()  # a change behind the service's back shows after CACHE_TTL_S; don't wait for it here
    r = api.call("GET", "/api/v1/whoami", token)
    assert r.status_code == 401 and r.json()["detail"] == "token expired"
    token2 = api.user_token("bob", "member", "research")
    tid = next(t["id"] for t in api.call("GET", "/api/v1/tokens").json() if t["user"] == "bob")
    assert api.call("DELETE", f"/api/v1/tokens/{tid}").status_code == 200
    r = api.call("GET", "/api/v1/whoami", token2)
    assert r.status_code == 401 and r.json()["detail"] == "token revoked"


def test_tokens_are_stored_hashed(api: Api) -> None:
    token = api.user_token("carol", "operator", None)
    with api.client.app.state.sessions() as s:
        stored = [row.token_sha256 for row in s.query(TokenModel).all()]
    assert token not in stored and hash_token(token) in stored
    listed = api.call("GET", "/api/v1/tokens").json()
    assert all(t["token"] is None for t in listed)


def test_a_member_sees_only_its_tenant(api: Api) -> None:
    alice = api.user_token("alice", "member", "research")
    bob = api.user_token("bob", "member", "product")
    spec = {"name": "secret", "command": "true", "gpus": 200}
    assert api.submit(spec, alice).status_code == 422  # more than the site
    job = api.submit({**spec, "gpus": 8, "estimated_runtime_s": 60}, alice).json()
    assert api.call("GET", f"/api/v1/jobs/{job['id']}", bob).status_code == 404
    assert api.call("POST", f"/api/v1/jobs/{job['id']}/cancel", bob, json={}).status_code == 404
    assert api.call("GET", f"/api/v1/jobs/{job['id']}/events", bob).status_code == 404
    assert [j["id"] for j in api.call("GET", "/api/v1/jobs", bob).json()] == []
    assert [j["id"] for j in api.call("GET", "/api/v1/jobs", alice).json()] == [job["id"]]
    assert api.submit({**spec, "gpus": 1}, bob, tenant="research").status_code == 422  # not its tenant
    assert [t["name"] for t in api.call("GET", "/api/v1/tenants", bob).json()] == ["product"]


def test_members_cannot_do_operator_things(api: Api) -> None:
    alice = api.user_token("alice", "member", "research")
    assert api.call("POST", "/api/v1/tenants", alice, json={"name": "x"}).status_code == 403
    assert api.call("POST", "/api/v1/nodes/h100-01-n01/drain", alice, json={}).status_code == 403
    assert api.call("POST", "/api/v1/datacenters", alice, json={"yaml": "name: x"}).status_code == 403
    assert api.call("POST", "/api/v1/users", alice, json={"name": "eve", "role": "admin"}).status_code == 403
    assert api.call("POST", "/api/v1/tokens", alice, json={"user": "admin"}).status_code == 403
    assert api.call("GET", "/metrics", alice).status_code == 403
    operator = api.user_token("olga", "operator", None)
    assert api.call("GET", "/metrics", operator).status_code == 200
    assert api.call("POST", "/api/v1/users", operator, json={"name": "eve", "role": "admin"}).status_code == 403


def test_the_last_working_admin_token_cannot_be_revoked(local_api) -> None:  # noqa: ANN001
    mine = [t for t in local_api.call("GET", "/api/v1/tokens").json() if t["user"] == "admin"]
    assert len(mine) == 1
    r = local_api.call("DELETE", f"/api/v1/tokens/{mine[0]['id']}")
    assert r.status_code == 409 and "last working admin token" in r.json()["detail"]
    assert local_api.call("GET", "/api/v1/whoami").status_code == 200  # still in
    second = local_api.call("POST", "/api/v1/tokens", json={"user": "admin", "ttl_days": 1}).json()
    r = local_api.call("DELETE", f"/api/v1/tokens/{mine[0]['id']}")
    assert r.status_code == 200 and r.json()["user"] == "admin"
    assert local_api.call("GET", "/api/v1/whoami", token=second["token"]).status_code == 200


def test_a_revoke_response_names_the_tokens_owner(local_api) -> None:  # noqa: ANN001
    token = local_api.user_token("mia", "member", "default")
    tid = next(t["id"] for t in local_api.call("GET", "/api/v1/tokens").json() if t["user"] == "mia")
    r = local_api.call("DELETE", f"/api/v1/tokens/{tid}")
    assert r.status_code == 200 and r.json()["user"] == "mia"
    assert local_api.call("GET", "/api/v1/whoami", token=token).status_code == 401
