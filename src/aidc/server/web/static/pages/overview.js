// Overview: GPUs by state and model, utilization and power now and over the last hours, queues, recent events.
import { api } from "../api.js";
import { ago, card, chart, fill, h, num, pct, table } from "../ui.js";

const STATES = [["allocated", "#2563eb"], ["idle", "#94a3b8"], ["draining", "#f59e0b"], ["down", "#dc2626"]];

// whole-number ticks for small counts (Plotly would draw 0.2, 0.4, ...)
const intTick = (values) => (Math.max(0, ...values) <= 8 ? 1 : undefined);

export async function mount(el) {
  const stats = h("div", { class: "cards", id: "stats" });
  const byState = h("div", { id: "chart-states" }), hist = h("div", { id: "chart-history" }), queue = h("div", { id: "chart-queue" });
  const events = h("div", { id: "events" });
  fill(el, h("h1", {}, "Overview"), stats,
    h("div", { class: "grid2" }, h("section", { class: "card" }, h("h2", {}, "GPUs by state and model"), byState),
      h("section", { class: "card" }, h("h2", {}, "Busy GPUs and power, last 6 h"), hist)),
    h("div", { class: "grid2" }, h("section", { class: "card" }, h("h2", {}, "Queue depth per tenant"), queue),
      h("section", { class: "card" }, h("h2", {}, "Recent events"), events)));

  async function refresh() {
    const o = await api("/overview?hours=6");
    const pending = Object.values(o.queue_depth).reduce((a, b) => a + b, 0);
    fill(stats, card("GPUs", num(o.gpus_total, 0), `${num(o.gpus_allocated, 0)} allocated`),
      card("Utilization", pct(o.utilization)), card("Power (est.)", `${num(o.power_kw)} kW`, `of ${num(o.power_max_kw)} kW max`),
      card("Pending jobs", num(pending, 0)),
      o.telemetry.nodes_reporting ? card("GPU telemetry", `${num(o.telemetry.gpu_util_pct, 0)}% busy`,
        `${num(o.telemetry.gpu_power_kw)} kW GPU draw, hottest ${num(o.telemetry.max_temp_c, 0)} C, ${o.telemetry.nodes_reporting} nodes reporting`) : null);
    const models = Object.keys(o.gpus_by_state);
    chart(byState, STATES.map(([s, color]) => ({ type: "bar", name: s, x: models, y: models.map((m) => o.gpus_by_state[m][s]), marker: { color } })),
      { barmode: "stack", yaxis: { title: "GPUs" } });
    const t = o.history.t_s.map((x) => new Date(x * 1000));
    chart(hist, [{ x: t, y: o.history.gpus_busy, name: "busy GPUs", type: "scatter", line: { shape: "hv" } },
      { x: t, y: o.history.power_kw, name: "power kW (est.)", yaxis: "y2", type: "scatter", line: { dash: "dot" } }],
      { margin: { l: 48, r: 56, t: 16, b: 40 }, yaxis: { title: "busy GPUs", rangemode: "tozero", dtick: intTick(o.history.gpus_busy) },
        yaxis2: { title: "kW", overlaying: "y", side: "right", rangemode: "tozero", showgrid: false } });
    const tenants = Object.keys(o.queue_depth);
    if (tenants.length) chart(queue, [{ type: "bar", x: tenants, y: tenants.map((k) => o.queue_depth[k]), name: "pending", marker: { color: "#f59e0b" } }],
      { yaxis: { title: "pending jobs", rangemode: "tozero", dtick: intTick(Object.values(o.queue_depth)) } });
    else fill(queue, h("p", { class: "muted" }, "no job is waiting"));
    fill(events, table([
      { label: "when", cell: (e) => ago(e.at_s) },
      { label: "what", cell: (e) => e.entity === "job" ? h("a", { href: `#/jobs/${e.entity_id}` }, `job ${e.entity_id}`) : `${e.entity} ${e.entity_id}` },
      { label: "change", cell: (e) => e.to_status ? `${e.from_status || "new"} → ${e.to_status}` : "" },
      { label: "by", cell: (e) => e.actor },
      { label: "reason", cell: (e) => e.reason },
    ], o.events.slice(0, 12)));
  }
  await refresh();
  return { refresh };
}
