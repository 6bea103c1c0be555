// One job: its fields, why it waits and when it should start, the event timeline, logs followed live, its GPUs'
// telemetry (from node agents) with a utilization chart, cancel/requeue.
import { api, request } from "../api.js";
import { TERMINAL, ago, badge, chart, clock, dur, errorBox, fill, h, num, table } from "../ui.js";
import { cancelJob } from "./jobs.js";

const field = (label, value) => [h("dt", {}, label), h("dd", {}, value ?? "")];

function facts(j) {
  const ran = j.started_s ? (j.finished_s || Date.now() / 1000) - j.started_s : null;
  return h("dl", { class: "facts" }, field("tenant", j.tenant), field("user", j.user), field("kind", j.kind),
    field("GPUs", `${j.gpus}${j.gpu_model ? " × " + j.gpu_model : ""}`), field("priority", j.priority),
    field("submitted", clock(j.submitted_s)), field("started", clock(j.started_s)), field("ran", dur(ran)),
    field("placement", j.placement.map(([n, idx]) => `${n}[${idx.join(",")}]`).join(" ")),
    field("attempts", j.attempts), field("preemptions", j.preemptions), field("exit code", j.exit_code),
    field("command", h("code", {}, j.spec.command || j.spec.workload || "")));
}

function waiting(j) {
  if (j.status !== "pending") return j.reason ? h("p", { class: "reason" }, j.reason) : null;
  return h("div", { class: "card why", id: "why" }, h("strong", {}, "Why it waits: "), h("span", { class: "reason" }, j.reason),
    h("div", {}, j.eta_s ? `Expected to start ${ago(j.eta_s)} (${clock(j.eta_s)})` : "No start expected yet (nothing it fits on frees up in the replayed queue)."));
}

export async function mount(el, { params }) {
  const id = params[0];
  const head = h("div", { id: "job-head" }), events = h("ol", { class: "timeline", id: "events" });
  const logs = h("pre", { class: "logs", id: "logs" }), follow = h("input", { type: "checkbox", checked: true, id: "follow" });
  const gpus = h("section", { class: "card", id: "job-gpus", hidden: true });
  const seen = { t: [], util: [], power: [] };  // this page's samples of the job's GPU telemetry
  let offset = 0, job = null;
  fill(el, head, h("div", { class: "grid2" }, h("section", { class: "card" }, h("h2", {}, "Events"), events),
    h("section", { class: "card" }, h("h2", {}, "Logs ", h("label", { class: "inline muted small" }, follow, "follow")), logs)), gpus);

  async function metrics() {
    if (TERMINAL.has(job.status) || job.status === "pending") return;
    const m = await api(`/jobs/${id}/gpus`);
    if (m.mean_util_pct == null) return;  // no node agent reports for its nodes
    const at = Math.max(...m.gpus.map((g) => g.at_s || 0));
    if (!seen.t.length || at > seen.t[seen.t.length - 1]) {
      seen.t.push(at); seen.util.push(m.mean_util_pct); seen.power.push(m.power_w);
    }
    gpus.hidden = false;
    const plot = h("div", { class: "chart", id: "gpu-chart" });
    fill(gpus, h("h2", {}, `GPUs: ${num(m.mean_util_pct, 0)}% busy, ${num(m.power_w, 0)} W`),
      table([{ label: "node", cell: (g) => g.node }, { label: "GPU", cell: (g) => g.gpu },
        { label: "utilization", cell: (g) => `${num(g.util_pct, 0)}%` }, { label: "temperature", cell: (g) => `${num(g.temp_c, 0)} C` },
        { label: "power", cell: (g) => `${num(g.power_w, 0)} W` }], m.gpus), plot);
    const t = seen.t.map((x) => new Date(x * 1000));
    chart(plot, [{ x: t, y: seen.util, name: "mean GPU utilization %", type: "scatter" },
      { x: t, y: seen.power, name: "GPU power W", yaxis: "y2", type: "scatter", line: { dash: "dot" } }],
      { margin: { l: 48, r: 64, t: 16, b: 40 }, yaxis: { title: "%", range: [0, 105] }, yaxis2: { title: "W", overlaying: "y", side: "right", rangemode: "tozero", showgrid: false } });
  }

  async function refresh() {
    try { job = await api(`/jobs/${id}`); } catch (e) { fill(el, h("h1", {}, `Job ${id}`), errorBox(e)); return { }; }
    const actions = TERMINAL.has(job.status) ? [h("button", { onclick: () => act("requeue") }, "Requeue")]
      : [h("button", { class: "danger", id: "cancel", onclick: () => cancelJob(job.id, refresh) }, "Cancel")];
    fill(head, h("h1", {}, `Job ${job.id} `, h("small", {}, job.name), " ", badge(job.status)), h("div", { class: "actions" }, actions),
      waiting(job), facts(job));
    const evs = await api(`/jobs/${id}/events`);
    fill(events, evs.map((e) => h("li", {}, h("time", {}, clock(e.at_s)), " ", e.to_status ? badge(e.to_status) : "", " ", e.reason, h("span", { class: "muted" }, ` (${e.actor})`))));
    await moreLogs();
    try { await metrics(); } catch (e) { /* telemetry is extra: the page works without it */ }
  }

  async function moreLogs() {
    if (job.status === "pending" && offset === 0) { logs.textContent = "(no output yet)"; return; }
    let r;
    try { r = await request(`/jobs/${id}/logs?offset=${offset}`); } catch (e) { if (offset === 0) logs.textContent = e.message; return; }
    const text = await r.text();
    if (offset === 0) logs.textContent = "";
    offset = Number(r.headers.get("X-Log-Offset") || offset);
    if (text) { logs.append(text); if (follow.checked) logs.scrollTop = logs.scrollHeight; }
  }

  async function act(verb) {
    try { await api(`/jobs/${id}/${verb}`, { method: "POST", body: { reason: `${verb} from the dashboard` } }); offset = 0; }
    catch (e) { alert(`${verb} failed: ${e.message}`); }
    await refresh();
  }

  await refresh();
  return { refresh };
}
