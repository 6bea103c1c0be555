// Floor: racks as laid out on the floor plan, coloured by power, GPU use or health; a rack's nodes; a node's GPUs.
import { api } from "../api.js";
import { badge, errorBox, fill, h, num, pct, table } from "../ui.js";

const HEALTH = { ok: "#86efac", degraded: "#fdba74", down: "#fca5a5" };
const NODE_HEALTH = { active: "#86efac", cordoned: "#fdba74", draining: "#fdba74", maintenance: "#cbd5e1", down: "#fca5a5" };

// 0..1 -> a blue-to-red ramp (cool when idle, hot near the limit)
function ramp(x) {
  const t = Math.max(0, Math.min(1, x || 0));
  return `hsl(${Math.round(210 - 210 * t)}, 80%, ${Math.round(88 - 30 * t)}%)`;
}

const MODES = {
  power: { label: "power draw", rack: (r) => ramp(r.power_kw / (r.power_budget_kw || 1)), node: (n) => ramp(n.power_kw / (n.max_power_kw || 1)),
    legend: () => [["low", ramp(0.1)], ["half the budget", ramp(0.5)], ["at the budget", ramp(1)]] },
  util: { label: "GPU utilization", rack: (r) => r.gpus ? ramp(r.utilization) : "#f1f5f9",
    node: (n) => !n.gpus ? "#f1f5f9" : ramp(n.telemetry ? n.telemetry.gpu_util_pct / 100 : n.gpus_used / n.gpus),
    legend: () => [["idle", ramp(0)], ["half", ramp(0.5)], ["full", ramp(1)], ["no GPUs", "#f1f5f9"]] },
  temp: { label: "GPU temperature", rack: (r) => ramp(Math.max(0, ...r.nodes.map((n) => n.telemetry ? n.telemetry.max_temp_c : 0)) / 95),
    node: (n) => n.telemetry ? ramp(n.telemetry.max_temp_c / 95) : "#f1f5f9",
    legend: () => [["30 C", ramp(30 / 95)], ["60 C", ramp(60 / 95)], ["90 C", ramp(90 / 95)], ["no agent", "#f1f5f9"]] },
  health: { label: "health", rack: (r) => HEALTH[r.health], node: (n) => NODE_HEALTH[n.status] || "#e5e7eb",
    legend: () => Object.entries(NODE_HEALTH) },
};

function rackTile(r, mode, onPick, selected) {
  const units = [...r.nodes].sort((a, b) => b.slot_u - a.slot_u).map((n) =>
    h("div", { class: "unit", style: `background:${MODES[mode].node(n)}`, title: `${n.name}: ${n.status}, ${n.gpus_used}/${n.gpus} GPUs, ${num(n.power_kw)} kW` }, n.name.split("-").pop()));
  return h("button", { class: `rack${selected ? " selected" : ""}`, "data-rack": r.name, style: `border-color:${MODES[mode].rack(r)}; box-shadow: inset 0 6px 0 ${MODES[mode].rack(r)}`, onclick: () => onPick(r.name) },
    h("span", { class: "rack-name" }, r.name), h("span", { class: "rack-meta muted" }, `${num(r.power_kw)} / ${num(r.power_budget_kw, 0)} kW`),
    h("span", { class: "rack-meta muted" }, r.gpus ? `${r.gpus_used}/${r.gpus} GPUs` : "no GPUs"), units);
}

function nodeDetail(n, staff, act) {
  const gpus = h("div", { class: "gpus", id: "gpu-grid" }, n.gpu_jobs.map((g) => h("div", { class: `gpu${g.busy ? " busy" : ""}` },
    `GPU ${g.index}`, h("br"), g.busy ? (g.job_id ? h("a", { href: `#/jobs/${g.job_id}` }, `job ${g.job_id}`) : "busy") : "idle",
    g.util_pct != null ? h("span", { class: "gpu-telemetry muted" }, h("br"), `${num(g.util_pct, 0)}% · ${num(g.temp_c, 0)} C · ${num(g.power_w, 0)} W`) : null)));
  const source = n.power_measured ? `GPU draw measured by its agent${n.telemetry.virtual ? " (virtual GPUs)" : ""}` : "estimated from allocation";
  const actions = staff ? h("div", { class: "actions" }, ["cordon", "drain", "uncordon", "maintenance"].map((a) =>
    h("button", { class: "small secondary", "data-action": a, onclick: () => act(n.name, a) }, a))) : null;
  return h("section", { class: "card", id: "node-detail" }, h("h2", {}, `Node ${n.name} `, badge(n.status)),
    h("p", { class: "muted" }, `${n.gpu_model || "CPU only"} · ${n.gpus_used}/${n.gpus} GPUs in use · ${num(n.power_kw)} of ${num(n.max_power_kw)} kW (${source}) · U${n.slot_u}–${n.slot_u + n.height_u - 1}`,
      n.status_reason ? ` · ${n.status_reason}` : ""), actions, n.gpus ? gpus : null);
}

export async function mount(el, { staff }) {
  const dcs = await api("/datacenters");
  if (!dcs.length) { fill(el, h("h1", {}, "Floor"), h("p", {}, "No datacenter is imported yet (aidc datacenters import SPEC).")); return {}; }
  let dc = dcs[0].name, mode = "power", rackName = null, nodeName = null, data = null;
  const pickDc = h("select", { id: "dc" }, dcs.map((d) => h("option", { value: d.name }, d.name)));
  const pickMode = h("select", { id: "colour" }, Object.entries(MODES).map(([k, m]) => h("option", { value: k }, m.label)));
  const legend = h("div", { class: "legend" }), plan = h("div", { id: "floor-plan" }), detail = h("div", { id: "rack-detail" });
  fill(el, h("h1", {}, "Floor"), h("div", { class: "filters" }, h("label", {}, "Datacenter", pickDc), h("label", {}, "Colour by", pickMode), legend),
    h("section", { class: "card" }, plan), detail);
  pickDc.onchange = () => { dc = pickDc.value; rackName = nodeName = null; refresh(); };
  pickMode.onchange = () => { mode = pickMode.value; draw(); };

  async function act(node, action) {
    try { await api(`/nodes/${node}/${action}`, { method: "POST", body: { reason: `${action} from the dashboard` } }); } catch (e) { alert(e.message); }
    await refresh();
  }

  function draw() {
    fill(legend, MODES[mode].legend().map(([label, c]) => h("span", {}, h("span", { class: "sw", style: `background:${c}` }), label)));
    const rows = new Map();
    for (const r of data.racks) { const key = `${r.room} · row ${r.row}`; if (!rows.has(key)) rows.set(key, []); rows.get(key).push(r); }
    fill(plan, h("div", { class: "muted small" }, `${data.site} · ${data.datacenter}`), [...rows].map(([key, racks]) => [h("div", { class: "floor-row-label" }, key),
      h("div", { class: "floor-row" }, racks.sort((a, b) => a.position - b.position).map((r) => rackTile(r, mode, (name) => { rackName = name; nodeName = null; draw(); }, r.name === rackName)))]));
    const rack = data.racks.find((r) => r.name === rackName);
    if (!rack) { fill(detail, h("p", { class: "muted" }, "Click a rack for its nodes.")); return; }
    const node = rack.nodes.find((n) => n.name === nodeName);
    fill(detail, h("section", { class: "card" }, h("h2", {}, `Rack ${rack.name}`),
      h("p", { class: "muted" }, `${rack.room}, row ${rack.row}, position ${rack.position + 1} · ${rack.cooling} cooling · ${num(rack.power_kw)} of ${num(rack.power_budget_kw, 0)} kW · ${pct(rack.utilization)} of GPUs in use`),
      table([{ label: "node", cell: (n) => h("a", { href: "#/floor", "data-node": n.name, onclick: (ev) => { ev.preventDefault(); nodeName = n.name; draw(); } }, n.name) },
        { label: "status", cell: (n) => badge(n.status) }, { label: "GPUs", cell: (n) => n.gpus ? `${n.gpus_used}/${n.gpus} ${n.gpu_model}` : "—" },
        { label: "power", cell: (n) => `${num(n.power_kw)} kW${n.power_measured ? "" : " (est.)"}` }, { label: "tenant", cell: (n) => n.tenant || "shared" }], rack.nodes)),
      node ? nodeDetail(node, staff, act) : null);
  }

  async function refresh() {
    try { data = await api(`/datacenters/${encodeURIComponent(dc)}/racks`); } catch (e) { fill(plan, errorBox(e)); return; }
    draw();
  }
  await refresh();
  return { refresh };
}
