"""The dashboard's read-only API routes and its static shell: right numbers, member rules, no data without a token."""

from __future__ import annotations

from tests.server.conftest import Api
from tests.web.conftest import cordon_gpu_nodes


def test_shell_and_assets_are_served_without_a_token(web_api: Api) -> None:
    c = web_api.client
    page = c.get("/ui/")
    assert page.status_code == 200 and 'src="/ui/static/app.js"' in page.text
    assert c.get("/", follow_redirects=False).headers["location"] == "/ui/"
    js = c.get("/ui/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert c.get("/ui/static/pages/jobs.js").status_code == 200
    assert c.get("/ui/static/../app.py").status_code == 404
    assert c.get("/ui/static/%2e%2e/__init__.py").status_code == 404
    plotly = c.get("/ui/static/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000  # the real library, shipped offline


def test_no_data_without_a_token(web_api: Api) -> None:
    for path in ("/api/v1/overview", "/api/v1/datacenters/small-h100/racks"):
        assert web_api.client.get(path).status_code == 401


def test_overview_counts_gpus_by_state_and_queues(web_api: Api) -> None:
    cordon_gpu_nodes(web_api)
    r = web_api.call("POST", "/api/v1/nodes/h100-04-n04/maintenance", json={"reason": "xid 79"})
    assert r.status_code == 200
    assert web_api.submit({"name": "wait", "gpus": 8, "command": "true"}, tenant="research").status_code == 201
    o = web_api.call("GET", "/api/v1/overview").json()
    h100 = o["gpus_by_state"]["H100-SXM"]
    assert h100 == {"allocated": 0, "idle": 0, "draining": 120, "down": 8}
    assert o["gpus_total"] == 128 and o["utilization"] == 0.0
    assert o["queue_depth"] == {"research": 1}
    assert len(o["history"]["t_s"]) == len(o["history"]["gpus_busy"]) == 60
    assert 0 < o["power_kw"] < o["power_max_kw"]
    assert any(e["reason"] == "xid 79" for e in o["events"])


def test_member_sees_only_its_tenant_in_overview_and_floor(web_api: Api) -> None:
    cordon_gpu_nodes(web_api)
    web_api.submit({"name": "theirs", "gpus": 1, "command": "true"}, tenant="research")
    member = web_api.user_token("pia", "member", "product")
    o = web_api.call("GET", "/api/v1/overview", member).json()
    assert o["queue_depth"] == {} and o["allocated"] == []
    assert all(e["entity"] == "job" for e in o["events"])  # no node or tenant events for members
    assert o["gpus_total"] == 128  # fleet totals are public, as /nodes is


def test_racks_follow_the_floor_plan_with_live_use(local_like_running: tuple[Api, int]) -> None:
    api, job_id = local_like_running
    floor = api.call("GET", "/api/v1/datacenters/small-h100/racks").json()
    names = [r["name"] for r in floor["racks"]]
    assert names == ["h100-01", "h100-02", "h100-03", "h100-04", "storage"]
    assert [r["position"] for r in floor["racks"]] == [0, 1, 2, 3, 4]
    rack = floor["racks"][0]
    assert rack["power_budget_kw"] == 42 and len(rack["nodes"]) == 4
    used = [n for r in floor["racks"] for n in r["nodes"] if n["gpus_used"]]
    assert len(used) == 1 and used[0]["gpus_used"] == 2
    assert sorted(g["job_id"] for g in used[0]["gpu_jobs"] if g["busy"]) == [job_id, job_id]
    member = api.user_token("pia", "member", "product")
    hidden = api.call("GET", "/api/v1/datacenters/small-h100/racks", member).json()
    node = next(n for r in hidden["racks"] for n in r["nodes"] if n["name"] == used[0]["name"])
    assert node["gpus_used"] == 2 and all(g["job_id"] is None for g in node["gpu_jobs"])  # research's job id hidden
    assert api.call("GET", "/api/v1/datacenters/nope/racks").status_code == 404
