"""End to end in headless Chromium: sign in, every page renders with seeded data, submit/cancel, reasons, member rules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.web.browser import ADMIN, LAPTOP, PHONE, Site, browser, live_server, need_browser, seed

pytestmark = pytest.mark.slow
PAGES = ["overview", "floor", "jobs", "tenants", "plan", "whatif", "serving"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    need_browser()
    tmp = tmp_path_factory.mktemp("web")
    shots = Path(os.environ.get("AIDC_SCREENSHOTS", REPO / "out" / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with live_server(tmp) as (url, _app):
        seeded = seed(url, shots)
        try:
            yield seeded  # the running job outlives every test of the module (a loaded machine is slow) ...
        finally:  # ... and is stopped with it
            httpx.post(f"{url}/api/v1/jobs/{seeded.running_id}/cancel", json={},
                       headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)


@pytest.fixture(scope="module")
def chromium(site: Site) -> Iterator[object]:
    with browser() as b:
        yield b


def signed_in(chromium, site: Site, token: str = ADMIN, viewport: dict | None = None):  # noqa: ANN001, ANN201
    page = chromium.new_page(viewport=viewport or LAPTOP)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site.url}/ui/")
    page.fill("#token", token)
    page.click("#signin-form button")
    page.wait_for_selector("#me:not(:empty)")
    page.errors = errors
    return page


def test_sign_in_refuses_a_bad_token(chromium, site: Site) -> None:  # noqa: ANN001
    page = chromium.new_page(viewport=LAPTOP)
    page.goto(f"{site.url}/ui/")
    page.fill("#token", "aidc_not-a-token")
    page.click("#signin-form button")
    page.wait_for_selector("#signin-error:not(:empty)")
    assert "not valid" in page.inner_text("#signin-error")
    assert page.inner_text("#view") == ""
    page.close()


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_page_renders_with_seeded_data(chromium, site: Site, viewport: dict) -> None:  # noqa: ANN001
    page = signed_in(chromium, site, viewport=viewport)
    page.wait_for_selector("#chart-states .main-svg")  # plotly drew, from the vendored file
    assert "128" in page.inner_text("#stats")
    for name in PAGES:
        page.goto(f"{site.url}/ui/#/{name}")
        page.wait_for_selector(f"body[data-page={name}] #view h1")
        page.wait_for_timeout(400)
        page.screenshot(path=str(site.shots / f"{name}-{viewport['width']}.png"), full_page=True)
    page.goto(f"{site.url}/ui/#/jobs/{site.running_id}")
    page.wait_for_selector("#logs:has-text('hello-from-the-job')")
    page.screenshot(path=str(site.shots / f"job-{viewport['width']}.png"), full_page=True)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= viewport["width"] + 1, f"the page scrolls sideways at {viewport['width']} px ({wide} px wide)"
    assert not page.errors, page.errors
    page.close()


def test_pending_job_shows_why_it_waits(chromium, site: Site) -> None:  # noqa: ANN001
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/jobs")
    row = page.wait_for_selector(f"tr[data-job='{site.pending_id}']")
    reason = site.call("GET", f"/api/v1/jobs/{site.pending_id}").json()["reason"]
    assert reason and "waiting for the next" not in reason
    assert reason in row.inner_text()
    page.goto(f"{site.url}/ui/#/jobs/{site.pending_id}")
    assert reason in page.wait_for_selector("#why").inner_text()
    page.close()


def test_jobs_page_says_what_the_runtime_predictor_knows(chromium, site: Site) -> None:  # noqa: ANN001
    status = site.call("GET", "/api/v1/predictor").json()
    assert status["enabled"] and not status["ready"]  # a fresh site has too few finished jobs to learn from
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/jobs")
    text = page.wait_for_selector("#predictor").inner_text()
    assert "learning" in text and f"starts at {status['min_jobs']}" in text
    assert not page.errors, page.errors
    page.close()


def test_submit_and_cancel_from_the_page_reach_the_api(chromium, site: Site) -> None:  # noqa: ANN001
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/jobs")
    page.click("summary:has-text('Submit a job')")
    page.fill("#submit-form [name=name]", "from-the-browser")
    page.fill("#submit-form [name=gpus]", "4")
    page.select_option("#submit-form [name=tenant]", "product")
    page.click("#submit-form button[type=submit]")
    page.wait_for_selector("#submit-form a")
    jobs = site.call("GET", "/api/v1/jobs?tenant=product").json()
    mine = [j for j in jobs if j["name"] == "from-the-browser"]
    assert len(mine) == 1 and mine[0]["gpus"] == 4 and mine[0]["status"] == "pending"
    page.click(f"tr[data-job='{mine[0]['id']}'] button[data-cancel]")
    page.wait_for_selector(f"tr[data-job='{mine[0]['id']}'][data-status=cancelled]")
    job = site.call("GET", f"/api/v1/jobs/{mine[0]['id']}").json()
    assert job["status"] == "cancelled" and "dashboard" in job["reason"]
    page.close()


def test_member_sees_only_its_tenant(chromium, site: Site) -> None:  # noqa: ANN001
    page = signed_in(chromium, site, token=site.member)
    page.goto(f"{site.url}/ui/#/jobs")
    page.wait_for_selector(f"tr[data-job='{site.product_id}']")
    assert page.query_selector(f"tr[data-job='{site.pending_id}']") is None
    page.goto(f"{site.url}/ui/#/jobs/{site.running_id}")
    err = page.wait_for_selector("#view .error")
    assert "404" in err.inner_text() and "pretrain" not in page.inner_text("#view")
    page.screenshot(path=str(site.shots / "member-denied-1280.png"))
    page.close()


def test_floor_rack_then_node_then_gpus(chromium, site: Site) -> None:  # noqa: ANN001
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/floor")
    page.click("button[data-rack='h100-01']")
    page.click("a[data-node='h100-01-n01']")
    grid = page.wait_for_selector("#gpu-grid")
    assert grid.inner_text().count(f"job {site.running_id}") == 2  # its 2 GPUs, linked to the job
    page.select_option("#colour", "health")
    page.screenshot(path=str(site.shots / "floor-node-1280.png"), full_page=True)
    page.close()


def test_floor_shows_a_node_agents_telemetry(chromium, site: Site) -> None:  # noqa: ANN001
    import httpx

    auth = {"Authorization": f"Bearer {ADMIN}"}
    r = httpx.post(f"{site.url}/api/v1/agents/register", headers=auth,
                   json={"node": "h100-01-n02", "gpus": 8, "cpu_cores": 112, "ram_gib": 2048})
    assert r.status_code == 200, r.text
    gpus = [{"index": i, "util_pct": 90, "temp_c": 71, "power_w": 650} for i in range(8)]
    assert httpx.post(f"{site.url}/api/v1/agents/h100-01-n02/heartbeat", headers=auth, json={"gpus": gpus}).status_code == 200
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/floor")
    page.click("button[data-rack='h100-01']")
    page.click("a[data-node='h100-01-n02']")
    grid = page.wait_for_selector("#gpu-grid")
    assert grid.inner_text().count("90% · 71 C · 650 W") == 8
    assert "5.2 of" in page.inner_text("#node-detail") and "measured by its agent" in page.inner_text("#node-detail")
    page.select_option("#colour", "temp")
    page.screenshot(path=str(site.shots / "floor-telemetry-1280.png"), full_page=True)
    assert not page.errors
    page.close()


def test_a_running_job_shows_its_gpus_telemetry(chromium, site: Site) -> None:  # noqa: ANN001
    import httpx

    auth = {"Authorization": f"Bearer {ADMIN}"}
    job = httpx.get(f"{site.url}/api/v1/jobs/{site.running_id}", headers=auth).json()
    node, indices = job["placement"][0]
    r = httpx.post(f"{site.url}/api/v1/agents/register", headers=auth,
                   json={"node": node, "gpus": 8, "cpu_cores": 112, "ram_gib": 2048})
    assert r.status_code == 200, r.text
    for util in (60, 80):  # two samples: the chart draws a line
        gpus = [{"index": i, "util_pct": util if i in indices else 0, "temp_c": 60, "power_w": 500} for i in range(8)]
        beat = httpx.post(f"{site.url}/api/v1/agents/{node}/heartbeat", headers=auth, json={"gpus": gpus})
        assert beat.status_code == 200, beat.text
        if util == 60:
            page = signed_in(chromium, site)
            page.goto(f"{site.url}/ui/#/jobs/{site.running_id}")
            page.wait_for_selector("#job-gpus:not([hidden]) h2:has-text('60% busy')")
    page.wait_for_selector("#job-gpus h2:has-text('80% busy')", timeout=15_000)
    assert page.inner_text("#job-gpus").count("500 W") == len(indices)
    page.wait_for_selector("#gpu-chart .main-svg")
    page.screenshot(path=str(site.shots / "job-gpus-1280.png"), full_page=True)
    assert not page.errors
    page.close()


def test_whatif_comparison_draws_its_charts(chromium, site: Site) -> None:  # noqa: ANN001
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/whatif")
    page.select_option("#source", "example:philly-2017-10-03")
    page.click("#whatif-form button[type=submit]")
    for chart in ("#chart-metrics", "#chart-cdf", "#chart-util", "#chart-queue"):
        page.wait_for_selector(f"{chart} .main-svg", timeout=60_000)
    assert page.locator("#chart-util .scatterlayer .trace").count() == 3  # one curve per scenario
    rows = page.locator("#whatif-result tbody tr")
    assert rows.count() == 3 and "sjf" in rows.nth(1).inner_text()
    page.screenshot(path=str(site.shots / "whatif-result-1280.png"), full_page=True)
    assert not page.errors, page.errors
    page.close()


def test_plan_form_says_whether_it_fits(chromium, site: Site) -> None:  # noqa: ANN001
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/plan")
    page.click("#plan-form button[type=submit]")
    assert "Fits" in page.wait_for_selector("#fits").inner_text()
    page.wait_for_selector("#chart-memory .main-svg")
    page.screenshot(path=str(site.shots / "plan-train-1280.png"), full_page=True)
    page.select_option("#plan-kind", "serve")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#chart-latency .main-svg")
    assert "gpus needed" in page.inner_text("#plan-result").lower()
    page.close()


def test_serving_lists_deployments_with_endpoints(chromium, site: Site) -> None:  # noqa: ANN001
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/serving")
    assert "http://h100-01-n01:8000/v1" in page.wait_for_selector("#deployments tbody tr").inner_text()
    page.close()


ECHO_SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = json.dumps({"model": "echo", "choices": [{"text": body["prompt"][::-1]}], "usage": {}}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_the_prompt_box_reaches_a_running_deployment(chromium, site: Site, tmp_path: Path) -> None:  # noqa: ANN001
    """A serve job on this host answering /v1/completions (it reverses the prompt); the page sends a prompt
    through /api/v1/deployments/{id}/prompt and shows the answer."""
    import sys

    from tests.server.pg import free_port

    scripts = tmp_path / "scripts"  # the job sees only its tenant's volumes: the script is in one, read-only
    scripts.mkdir(mode=0o755)
    script = scripts / "echo_server.py"
    script.write_text(ECHO_SERVER)
    port = free_port()
    site.call("POST", "/api/v1/tenants", json={"name": "serving-test", "sandbox": {  # its own queue: nothing waits
        "volumes": [{"name": "scripts", "host_path": str(scripts), "access": "ro"}]}})
    job = site.call("POST", "/api/v1/jobs", json={"tenant": "serving-test", "spec": {
        "name": "echo", "kind": "serve", "gpus": 1, "command": f"{sys.executable} {script} {port}",
        "env": {"AIDC_ENDPOINT": f"http://127.0.0.1:{port}"}}}).json()
    try:
        page = signed_in(chromium, site)
        page.goto(f"{site.url}/ui/#/serving")
        page.wait_for_selector(f"#prompt-deployment option[value='{job['id']}']", state="attached", timeout=15_000)
        page.select_option("#prompt-deployment", str(job["id"]))
        page.fill("#prompt-text", "hello GPUs")
        for _ in range(20):  # the server inside the job may still be starting
            page.click("#prompt-send")
            page.wait_for_function("document.querySelector('#prompt-answer').textContent !== '…'")
            if "sUPG olleh" in page.inner_text("#prompt-answer"):
                break
            page.wait_for_timeout(250)
        assert "sUPG olleh" in page.inner_text("#prompt-answer")
        page.screenshot(path=str(site.shots / "serving-prompt-1280.png"), full_page=True)
        page.close()
    finally:
        site.call("POST", f"/api/v1/jobs/{job['id']}/cancel", json={})


def test_pages_update_live_and_the_token_survives_a_reload(chromium, site: Site) -> None:  # noqa: ANN001
    page = signed_in(chromium, site)
    page.goto(f"{site.url}/ui/#/jobs")
    page.wait_for_selector(f"tr[data-job='{site.pending_id}']")
    new = site.call("POST", "/api/v1/jobs", json={"spec": {"name": "live", "gpus": 1, "command": "sleep 1"},
                                                  "tenant": "product"}).json()
    page.wait_for_selector(f"tr[data-job='{new['id']}']", timeout=8_000)  # polled in, no reload
    site.call("POST", f"/api/v1/jobs/{new['id']}/cancel", json={})
    page.reload()
    page.wait_for_selector("#me:not(:empty)")  # the token is kept in this tab's sessionStorage
    assert page.evaluate("sessionStorage.getItem('aidc.token')") == ADMIN
    page.click("#signout")
    assert page.evaluate("sessionStorage.getItem('aidc.token')") is None
    page.close()
