// What-if: replay the history (or an example trace) under 2+ policies or capacities; JCT, queueing, utilization side by side.
import { api } from "../api.js";
import { chart, dur, errorBox, fill, h, num, pct, table } from "../ui.js";

function scenarioRow(policies, policy, scale) {
  return h("div", { class: "scenario form-grid" },
    h("label", {}, "Policy", h("select", { name: "policy" }, policies.map((p) => h("option", { value: p, selected: p === policy }, p)))),
    h("label", {}, "Share of nodes (%)", h("input", { name: "scale", type: "number", min: 5, max: 400, step: 5, value: scale })),
    h("button", { type: "button", class: "small secondary", onclick: (ev) => ev.target.closest(".scenario").remove() }, "Remove"));
}

function draw(out, el) {
  const s = out.scenarios, labels = s.map((x) => x.label);
  const metrics = h("div", { id: "chart-metrics" }), util = h("div", { id: "chart-util" }), queue = h("div", { id: "chart-queue" }), cdf = h("div", { id: "chart-cdf" });
  fill(el, h("p", { class: "muted" }, `${num(out.jobs, 0)} jobs from ${out.source} on ${out.datacenter}`),
    table([{ label: "scenario", cell: (x) => x.label }, { label: "GPUs", cell: (x) => x.gpus },
      { label: "avg JCT", cell: (x) => dur(x.summary.avg_jct_s) }, { label: "p99 JCT", cell: (x) => dur(x.summary.p99_jct_s) },
      { label: "avg queueing", cell: (x) => dur(x.summary.avg_queue_s) }, { label: "p99 queueing", cell: (x) => dur(x.summary.p99_queue_s) },
      { label: "utilization", cell: (x) => pct(x.summary.gpu_utilization) }, { label: "makespan", cell: (x) => dur(x.summary.makespan_s) },
      { label: "never started", cell: (x) => x.never_started }], s),
    h("div", { class: "grid2" }, h("section", { class: "card" }, h("h2", {}, "Mean JCT and queueing (hours)"), metrics),
      h("section", { class: "card" }, h("h2", {}, "JCT distribution"), cdf)),
    h("div", { class: "grid2" }, h("section", { class: "card" }, h("h2", {}, "Busy GPUs over time"), util),
      h("section", { class: "card" }, h("h2", {}, "Jobs waiting over time"), queue)));
  chart(metrics, [{ type: "bar", name: "avg JCT h", x: labels, y: s.map((x) => x.summary.avg_jct_s / 3600) },
    { type: "bar", name: "avg queueing h", x: labels, y: s.map((x) => x.summary.avg_queue_s / 3600) }], { barmode: "group" });
  chart(cdf, s.map((x) => ({ x: x.curves.jct_h, y: x.curves.jct_cdf, name: x.label, type: "scatter" })),
    { xaxis: { title: "JCT (hours, log)", type: "log" }, yaxis: { title: "share of jobs", range: [0, 1] } });
  chart(util, s.map((x) => ({ x: x.curves.t_h, y: x.curves.gpus_busy, name: x.label, type: "scatter", line: { shape: "hv" } })),
    { xaxis: { title: "hours since the first submit" }, yaxis: { title: "GPUs", rangemode: "tozero" } });
  chart(queue, s.map((x) => ({ x: x.curves.t_h, y: x.curves.queued_jobs, name: x.label, type: "scatter", line: { shape: "hv" } })),
    { xaxis: { title: "hours since the first submit" }, yaxis: { title: "pending jobs", rangemode: "tozero" } });
}

export async function mount(el) {
  const opts = await api("/whatif/options");
  const source = h("select", { name: "source", id: "source" }, opts.sources.map((s) => h("option", { value: s, selected: s.startsWith("example:philly") }, s)));
  const dc = h("select", { name: "datacenter" }, opts.datacenters.map((d) => h("option", { value: d }, d)));
  const rows = h("div", { id: "scenarios" }, scenarioRow(opts.policies, "fifo", 25), scenarioRow(opts.policies, "sjf", 25), scenarioRow(opts.policies, "fifo", 50));
  const result = h("div", { id: "whatif-result" });
  const form = h("form", { id: "whatif-form", class: "card" },
    h("div", { class: "filters" }, h("label", {}, "Replay", source), h("label", {}, "On datacenter", dc)), rows,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => rows.append(scenarioRow(opts.policies, "tiresias", 25)) }, "Add scenario"),
      h("button", { type: "submit" }, "Compare")));
  fill(el, h("h1", {}, "What-if"), h("p", { class: "muted" }, "Replay this cluster's finished jobs (history) or a trace with the same scheduler the control plane runs, under several policies and capacities."), form, result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const scenarios = [...rows.querySelectorAll(".scenario")].map((r) => ({ policy: r.querySelector("[name=policy]").value, scale_nodes: Number(r.querySelector("[name=scale]").value) / 100 }));
    fill(result, h("p", { class: "muted" }, "replaying…"));
    try { draw(await api("/whatif", { method: "POST", body: { source: source.value, datacenter: dc.value || null, scenarios } }), result); }
    catch (e) { fill(result, errorBox(e)); }
  });
  return {};
}
