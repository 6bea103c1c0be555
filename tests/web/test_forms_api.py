"""The dashboard's form routes: what-if replays through aidc.sim, plans through aidc.planning; bad input is a 4xx."""

from __future__ import annotations

from tests.server.conftest import Api

TWO = [{"policy": "fifo", "scale_nodes": 0.25}, {"policy": "sjf", "scale_nodes": 0.25}]


def test_whatif_compares_policies_on_the_example_trace(web_api: Api) -> None:
    opts = web_api.call("GET", "/api/v1/whatif/options").json()
    assert "example:philly-2017-10-03" in opts["sources"] and {"fifo", "sjf"} <= set(opts["policies"])
    r = web_api.call("POST", "/api/v1/whatif", json={"source": "example:philly-2017-10-03", "scenarios": TWO})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["datacenter"] == "small-h100" and out["jobs"] == 2641
    fifo, sjf = out["scenarios"]
    assert fifo["gpus"] == sjf["gpus"] == 32  # a quarter of 16 GPU nodes, 8 GPUs each
    assert sjf["summary"]["avg_queue_s"] < fifo["summary"]["avg_queue_s"] / 5  # shortest-first drains the queue
    c = fifo["curves"]
    assert len(c["t_h"]) == len(c["gpus_busy"]) == len(c["queued_jobs"]) <= 130
    assert max(c["gpus_busy"]) <= 32 and max(c["queued_jobs"]) > 0
    assert c["jct_cdf"][-1] == 1.0 and c["jct_h"] == sorted(c["jct_h"])


def test_whatif_refuses_bad_input(web_api: Api) -> None:
    bad_policy = web_api.call("POST", "/api/v1/whatif", json={"source": "example:mixed",
                                                              "scenarios": [{"policy": "fifo"}, {"policy": "nope"}]})
    assert bad_policy.status_code == 422 and "nope" in bad_policy.json()["detail"]
    one = web_api.call("POST", "/api/v1/whatif", json={"source": "example:mixed", "scenarios": [{"policy": "fifo"}]})
    assert one.status_code == 422
    empty = web_api.call("POST", "/api/v1/whatif", json={"scenarios": TWO})
    assert empty.status_code == 422 and "no finished GPU jobs" in empty.json()["detail"]
    assert web_api.client.post("/api/v1/whatif", json={"scenarios": TWO}).status_code == 401


def test_whatif_replays_the_history(web_api: Api) -> None:
    ids = [web_api.submit({"name": f"h{i}", "gpus": 1, "command": "true"}, tenant="research").json()["id"] for i in range(3)]
    for i in ids:
        assert web_api.wait_status(i, {"succeeded"})["status"] == "succeeded"
    r = web_api.call("POST", "/api/v1/whatif", json={"source": "history", "scenarios": TWO})
    assert r.status_code == 200, r.text
    assert r.json()["jobs"] == 3 and r.json()["scenarios"][0]["summary"]["jobs"] == 3


def test_plan_training_fits_the_datacenter(web_api: Api) -> None:
    spec = {"model": "llama-3-8b", "training_tokens": 1e12, "global_batch_seqs": 384, "gpu": "H100-SXM", "n_gpus": 64}
    r = web_api.call("POST", "/api/v1/plan", json={"kind": "train", "spec": spec, "datacenter": "small-h100"})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["n_gpus"] == 64 and 0 < p["mfu"] < 1 and p["wall_days"] > 1
    assert p["placement"]["fits"] is True and p["placement"]["gpus_free_now"] == 64  # all 8 nodes idle
    assert set(p["memory_gib_per_gpu"]) >= {"weights", "activations", "total"}


def test_plan_serving_and_errors(web_api: Api) -> None:
    spec = {"model": "llama-3-8b", "gpu": "H100-SXM", "workload": {"input_len": 1024, "output_len": 256, "requests_per_s": 50},
            "slo": {"ttft_ms": 500, "tpot_ms": 30}}
    r = web_api.call("POST", "/api/v1/plan", json={"kind": "serve", "spec": spec, "datacenter": "small-h100"})
    assert r.status_code == 200 and r.json()["gpus_needed"] >= 1 and r.json()["placement"]["fits"]
    typo = web_api.call("POST", "/api/v1/plan", json={"kind": "train", "spec": {"model": "llama-3-8b", "n_gpus": 8, "tokns": 1}})
    assert typo.status_code == 422 and "tokns" in typo.json()["detail"]
    big = {"model": "llama-3-8b", "n_gpus": 4096, "training_tokens": 1e12, "global_batch_seqs": 1024}
    huge = web_api.call("POST", "/api/v1/plan", json={"kind": "train", "spec": big, "datacenter": "small-h100"})
    assert huge.status_code == 200 and huge.json()["placement"]["fits"] is False
