// Plan: a training run (model, tokens, GPU model and count) or a serving load through the planner; where it fits here.
import { api } from "../api.js";
import { chart, errorBox, fill, h, num } from "../ui.js";

const input = (label, name, attrs = {}) => h("label", {}, label, h("input", { name, ...attrs }));
const opt = (values, selected) => values.map((v) => h("option", { value: v, selected: v === selected }, v));

function fits(p) {
  const pl = p.placement;
  if (!pl) return null;
  const free = pl.gpus_free_now != null ? ` · free on those nodes right now: ${num(pl.gpus_free_now, 0)} GPUs` : "";
  return h("div", { class: `card ${pl.fits ? "ok" : "error"}`, id: "fits" }, h("strong", {}, pl.fits ? "Fits: " : "Does not fit: "), pl.message, free);
}

function drawTrain(p, el) {
  const time = h("div", { id: "chart-time" }), mem = h("div", { id: "chart-memory" });
  const t = p.time_breakdown_s, m = p.memory_gib_per_gpu;
  const par = p.parallelism;
  fill(el, fits(p), h("div", { class: "cards" },
    h("div", { class: "card stat" }, h("div", { class: "label" }, "Wall time"), h("div", { class: "value" }, `${num(p.wall_days)} d`)),
    h("div", { class: "card stat" }, h("div", { class: "label" }, "GPU-hours"), h("div", { class: "value" }, num(p.gpu_hours, 0))),
    h("div", { class: "card stat" }, h("div", { class: "label" }, "MFU"), h("div", { class: "value" }, `${num(p.mfu * 100)} %`)),
    h("div", { class: "card stat" }, h("div", { class: "label" }, "Energy"), h("div", { class: "value" }, `${num(p.energy_mwh)} MWh`)),
    h("div", { class: "card stat" }, h("div", { class: "label" }, "Cost"), h("div", { class: "value" }, `$${num(p.cost_usd, 0)}`))),
    h("p", { class: "muted" }, `layout tp${par.tp} pp${par.pp} cp${par.cp} dp${par.dp}, micro-batch ${par.micro_batch}, ZeRO-${par.zero_stage}, recompute ${par.recompute} · ${num(p.tokens_per_s_per_gpu, 0)} tokens/s per GPU · ${p.cost_basis || ""}`),
    h("div", { class: "grid2" }, h("section", { class: "card" }, h("h2", {}, "Time per iteration (s)"), time),
      h("section", { class: "card" }, h("h2", {}, "Memory per GPU (GiB)"), mem)));
  const parts = ["compute_s", "tp_comm_s", "pp_bubble_s", "pp_p2p_s", "dp_exposed_s", "optimizer_s"];
  chart(time, parts.map((k) => ({ type: "bar", orientation: "h", name: k.replace("_s", ""), y: ["iteration"], x: [t[k]] })), { barmode: "stack", height: 200 });
  const mparts = ["weights", "grads", "optimizer", "activations"];
  chart(mem, [{ type: "bar", x: mparts, y: mparts.map((k) => m[k]), name: "GiB" }], { yaxis: { title: "GiB" } });
}

function drawServe(p, el) {
  const lat = h("div", { id: "chart-latency" });
  fill(el, fits(p), h("div", { class: "cards" },
    h("div", { class: "card stat" }, h("div", { class: "label" }, "GPUs needed"), h("div", { class: "value" }, num(p.gpus_needed, 0))),
    h("div", { class: "card stat" }, h("div", { class: "label" }, "Replicas"), h("div", { class: "value" }, `${p.replicas} × tp${p.tp}`)),
    h("div", { class: "card stat" }, h("div", { class: "label" }, "Requests/s per replica"), h("div", { class: "value" }, num(p.requests_per_s_per_replica))),
    h("div", { class: "card stat" }, h("div", { class: "label" }, "Batch"), h("div", { class: "value" }, num(p.batch_per_replica, 0)))),
    h("section", { class: "card" }, h("h2", {}, "Latency against the targets (ms)"), lat));
  chart(lat, [{ type: "bar", name: "planned", x: ["TTFT", "TPOT"], y: [p.ttft_ms, p.tpot_ms] },
    { type: "bar", name: "target", x: ["TTFT", "TPOT"], y: [p.slo.ttft_ms, p.slo.tpot_ms] }], { barmode: "group" });
}

export async function mount(el) {
  const [opts, dcs] = await Promise.all([api("/plan/options"), api("/datacenters")]);
  const kind = h("select", { name: "kind", id: "plan-kind" }, opt(["train", "serve"], "train"));
  const train = h("fieldset", { class: "form-grid", id: "train-fields" },
    input("Training tokens", "training_tokens", { type: "number", value: 1e12, step: "any", min: 1 }),
    input("Global batch (sequences)", "global_batch_seqs", { type: "number", value: 384, min: 1 }),
    input("GPUs", "n_gpus", { type: "number", value: 96, min: 1 }));
  const serve = h("fieldset", { class: "form-grid", id: "serve-fields", hidden: true },
    input("Requests/s", "requests_per_s", { type: "number", value: 50, step: "any", min: 0.001 }),
    input("Input tokens", "input_len", { type: "number", value: 1024, min: 1 }), input("Output tokens", "output_len", { type: "number", value: 256, min: 1 }),
    input("TTFT target (ms)", "ttft_ms", { type: "number", value: 500, min: 1 }), input("TPOT target (ms)", "tpot_ms", { type: "number", value: 30, min: 1 }));
  const result = h("div", { id: "plan-result" });
  const form = h("form", { id: "plan-form", class: "card" }, h("div", { class: "form-grid" }, h("label", {}, "Plan", kind),
    h("label", {}, "Model", h("select", { name: "model" }, opt(opts.models, opts.models.includes("llama-3-8b") ? "llama-3-8b" : opts.models[0]))),
    h("label", {}, "GPU model", h("select", { name: "gpu" }, opt(opts.gpus, "H100-SXM"))),
    h("label", {}, "Fit on", h("select", { name: "datacenter" }, h("option", { value: "" }, "no datacenter"), opt(dcs.map((d) => d.name), dcs[0]?.name)))),
    train, serve, h("button", { type: "submit" }, "Plan"));
  kind.onchange = () => { train.hidden = kind.value !== "train"; serve.hidden = kind.value !== "serve"; };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form), n = (k) => Number(f.get(k));
    const spec = kind.value === "train"
      ? { model: f.get("model"), gpu: f.get("gpu"), training_tokens: n("training_tokens"), global_batch_seqs: n("global_batch_seqs"), n_gpus: n("n_gpus") }
      : { model: f.get("model"), gpu: f.get("gpu"), workload: { input_len: n("input_len"), output_len: n("output_len"), requests_per_s: n("requests_per_s") },
        slo: { ttft_ms: n("ttft_ms"), tpot_ms: n("tpot_ms") } };
    fill(result, h("p", { class: "muted" }, "planning…"));
    try {
      const p = await api("/plan", { method: "POST", body: { kind: kind.value, spec, datacenter: f.get("datacenter") || null } });
      (kind.value === "train" ? drawTrain : drawServe)(p, result);
    } catch (e) { fill(result, errorBox(e)); }
  });
  fill(el, h("h1", {}, "Plan"), h("p", { class: "muted" }, "The capacity planner (aidc plan): time, memory, energy and cost of a training run, or the GPUs a serving load needs, and whether and where it fits."), form, result);
  return {};
}
