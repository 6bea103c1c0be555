"""Tenants' volumes, uid and isolation through the API, job volumes at submit, job tokens, the data dir's modes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.server.conftest import Api


def test_an_admin_declares_volumes_and_a_member_cannot(local_api: Api, tmp_path: Path) -> None:
    body = {"volumes": [{"name": "ckpt", "host_path": str(tmp_path / "ckpt"), "access": "rw"}], "unix_uid": 5001,
            "isolation": "required"}
    r = local_api.call("PUT", "/api/v1/tenants/team-b/sandbox", json=body)
    assert r.status_code == 200 and r.json()["sandbox"]["volumes"][0]["access"] == "rw"
    assert r.json()["sandbox"]["unix_uid"] == 5001 and r.json()["sandbox"]["isolation"] == "required"
    member = local_api.user_token("mia", "member", "team-b")
    assert local_api.call("PUT", "/api/v1/tenants/team-b/sandbox", member, json={"volumes": []}).status_code == 403
    clash = local_api.call("PUT", "/api/v1/tenants/default/sandbox", json={"unix_uid": 5001})
    assert clash.status_code == 422 and "team-b" in clash.json()["detail"]


@pytest.mark.parametrize("volume, says", [
    ({"name": "x", "host_path": "/srv/../etc"}, "without '..'"),
    ({"name": "x", "host_path": "relative/dir"}, "must be absolute"),
    ({"name": "x", "host_path": "/etc/ssl"}, "inside /etc"),
    ({"name": "x", "host_path": "/srv/a", "mount_path": "/proc/x"}, "inside /proc"),
    ({"name": "x", "host_path": "/srv/a", "access": "write"}, "access"),
    ({"name": "X Y", "host_path": "/srv/a"}, "name"),
    ({"name": "x", "host_path": "/srv/a", "owner": "me"}, "owner"),
])
def test_bad_volumes_are_refused_naming_the_field(local_api: Api, volume: dict, says: str) -> None:
    r = local_api.call("PUT", "/api/v1/tenants/default/sandbox", json={"volumes": [volume]})
    assert r.status_code == 422 and says in r.text, r.text


def test_volumes_that_nest_or_repeat_are_refused(local_api: Api) -> None:
    nested = [{"name": "a", "host_path": "/srv/a"}, {"name": "b", "host_path": "/srv/b", "mount_path": "/srv/a/b"}]
    r = local_api.call("PUT", "/api/v1/tenants/default/sandbox", json={"volumes": nested})
    assert r.status_code == 422 and "nest" in r.text
    twice = [{"name": "a", "host_path": "/srv/a"}, {"name": "a", "host_path": "/srv/b"}]
    assert "repeat" in local_api.call("PUT", "/api/v1/tenants/default/sandbox", json={"volumes": twice}).text


def test_job_volumes_are_checked_at_submit(local_api: Api, tmp_path: Path) -> None:
    local_api.share("default", [{"name": "data", "host_path": str(tmp_path / "d"), "access": "ro"},
                                {"name": "ckpt", "host_path": str(tmp_path / "c"), "access": "rw"}])
    ok = local_api.submit({"name": "a", "command": "true", "gpus": 0, "volumes": [{"name": "ckpt", "sub_path": "run1"}],
                           "checkpoint_dir": str(tmp_path / "c" / "run1" / "step")})
    assert ok.status_code == 201, ok.text
    for spec, says in (({"volumes": [{"name": "nope"}]}, "has no volume 'nope' (it has ckpt, data)"),
                       ({"checkpoint_dir": str(tmp_path / "d" / "x")}, "mounted read-only"),
                       ({"volumes": [{"name": "ckpt", "read_only": True}], "checkpoint_dir": str(tmp_path / "c")},
                        "mounted read-only"),
                       ({"checkpoint_dir": "/srv/elsewhere"}, "not inside a read-write volume"),
                       ({"checkpoint_dir": "relative"}, "absolute"),
                       ({"volumes": [{"name": "ckpt", "sub_path": "../x"}]}, "sub_path")):
        r = local_api.submit({"name": "b", "command": "true", "gpus": 0, **spec})
        assert r.status_code == 422 and says in r.text, (spec, r.text)


def test_job_tokens_are_no_user_role_and_malformed_ones_are_refused(local_api: Api) -> None:
    r = local_api.call("POST", "/api/v1/users", json={"name": "j", "role": "job", "tenant": "default"})
    assert r.status_code == 422 and "each running job gets its own token" in r.text
    for token in ("aidcjob_", "aidcjob_1_", "aidcjob_x_y", "aidcjob_99999999999999999999_abc", "aidcjob_1_guess"):
        assert local_api.call("GET", "/api/v1/whoami", token).status_code == 401, token


def test_the_data_dir_and_database_are_the_servers_only(tmp_path: Path) -> None:
    from tests.server.conftest import LOCAL, make_api

    gen = make_api(tmp_path, f"sqlite:///{tmp_path / 'data' / 'aidc.db'}", LOCAL)
    next(gen)
    try:
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o711
        assert stat.S_IMODE((tmp_path / "data" / "aidc.db").stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "data" / "admin.token").stat().st_mode) == 0o600
    finally:
        gen.close()


@pytest.mark.parametrize("path", ["/api/v1/jobs/9223372036854775808", "/api/v1/jobs/9223372036854775808/events",
                                  "/api/v1/jobs/0/logs", "/api/v1/jobs/1/logs?offset=99999999999999999999",
                                  "/api/v1/jobs?offset=99999999999999999999", "/api/v1/jobs/-1/gpus"])
def test_integers_out_of_range_are_422_not_500(local_api: Api, path: str) -> None:
    r = local_api.call("GET", path)
    assert r.status_code == 422, (path, r.status_code, r.text[:200])


def test_a_job_id_too_large_to_store_is_422_on_post_routes(local_api: Api) -> None:
    for path in ("/api/v1/jobs/9223372036854775808/cancel", "/api/v1/jobs/9223372036854775808/requeue"):
        assert local_api.call("POST", path, json={}).status_code == 422, path
    assert local_api.call("DELETE", "/api/v1/tokens/9223372036854775808").status_code == 422


@pytest.mark.parametrize("spec, names", [
    ({"name": "j", "command": "x" * 1_000_000}, "command"),
    ({"name": "j", "command": "true", "gpus": "2"}, "gpus"),
    ({"name": "j", "command": "true", "gpus": True}, "gpus"),
    ({"name": "j" * 100_000, "command": "true"}, "name"),
    ({"name": "j", "command": "true", "env": {"A" * 100_000: "1"}}, "env"),
])
def test_a_refused_job_gets_a_short_422_that_names_the_field(local_api: Api, spec: dict, names: str) -> None:
    before = local_api.call("GET", "/api/v1/jobs").json()
    r = local_api.submit(spec)
    assert r.status_code == 422 and names in r.json()["detail"], r.text[:300]
    assert len(r.content) < 4096, len(r.content)  # never the refused value echoed back whole
    assert local_api.call("GET", "/api/v1/jobs").json() == before  # nothing was written
