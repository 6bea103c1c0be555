// Tenants: GPU quota against use per GPU model, and GPU-hours, energy and cost so far.
import { api } from "../api.js";
import { chart, fill, h, num, table } from "../ui.js";

export async function mount(el) {
  const bars = h("div", { id: "chart-quota" }), list = h("div", { id: "tenant-table" });
  fill(el, h("h1", {}, "Tenants"), h("section", { class: "card" }, h("h2", {}, "Quota and GPUs in use, per GPU model"), bars),
    h("section", { class: "card" }, h("h2", {}, "Usage this period"), list));

  async function refresh() {
    const [tenants, usage, o] = await Promise.all([api("/tenants"), api("/usage"), api("/overview?hours=1")]);
    const used = {};
    for (const a of o.allocated) used[`${a.tenant}|${a.gpu_model}`] = (used[`${a.tenant}|${a.gpu_model}`] || 0) + a.gpus;
    const keys = [];
    for (const t of tenants) {
      const models = new Set([...Object.keys(t.gpu_quota), ...o.allocated.filter((a) => a.tenant === t.name).map((a) => a.gpu_model)]);
      for (const m of models) keys.push([t.name, m]);
    }
    const labels = keys.map(([t, m]) => `${t} · ${m}`);
    chart(bars, [{ type: "bar", name: "quota", x: labels, y: keys.map(([t, m]) => tenants.find((x) => x.name === t).gpu_quota[m] || 0), marker: { color: "#cbd5e1" } },
      { type: "bar", name: "in use", x: labels, y: keys.map(([t, m]) => used[`${t}|${m}`] || 0), marker: { color: "#2563eb" } }],
      { barmode: "group", yaxis: { title: "GPUs" } });
    const byName = Object.fromEntries(usage.map((u) => [u.tenant, u]));
    fill(list, table([
      { label: "tenant", cell: (t) => h("a", { href: `#/jobs?tenant=${encodeURIComponent(t.name)}` }, t.name) },
      { label: "quota", cell: (t) => Object.entries(t.gpu_quota).map(([m, g]) => `${g} ${m}`).join(", ") || "none" },
      { label: "borrowing", cell: (t) => t.allow_borrowing ? "yes" : "no" },
      { label: "in use", cell: (t) => num(o.allocated.filter((a) => a.tenant === t.name).reduce((s, a) => s + a.gpus, 0), 0) },
      { label: "pending", cell: (t) => num(o.queue_depth[t.name] || 0, 0) },
      { label: "jobs", cell: (t) => num(byName[t.name]?.jobs || 0, 0) },
      { label: "GPU-hours", cell: (t) => num(byName[t.name]?.gpu_hours || 0, 2) },
      { label: "energy kWh", cell: (t) => num(byName[t.name]?.energy_kwh || 0, 2) },
      { label: "cost $", cell: (t) => num(byName[t.name]?.cost_usd || 0, 2) },
    ], tenants, { rowAttrs: (t) => ({ "data-tenant": t.name }) }));
  }
  await refresh();
  return { refresh };
}
