// One job: its fields, why it waits and when it should start, the event timeline, logs followed live, cancel/requeue.
import { api, request } from "../api.js";
import { TERMINAL, ago, badge, clock, dur, errorBox, fill, h } from "../ui.js";
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
  let offset = 0, job = null;
  fill(el, head, h("div", { class: "grid2" }, h("section", { class: "card" }, h("h2", {}, "Events"), events),
    h("section", { class: "card" }, h("h2", {}, "Logs ", h("label", { class: "inline muted small" }, follow, "follow")), logs)));

  async function refresh() {
    try { job = await api(`/jobs/${id}`); } catch (e) { fill(el, h("h1", {}, `Job ${id}`), errorBox(e)); return { }; }
    const actions = TERMINAL.has(job.status) ? [h("button", { onclick: () => act("requeue") }, "Requeue")]
      : [h("button", { class: "danger", id: "cancel", onclick: () => cancelJob(job.id, refresh) }, "Cancel")];
    fill(head, h("h1", {}, `Job ${job.id} `, h("small", {}, job.name), " ", badge(job.status)), h("div", { class: "actions" }, actions),
      waiting(job), facts(job));
    const evs = await api(`/jobs/${id}/events`);
    fill(events, evs.map((e) => h("li", {}, h("time", {}, clock(e.at_s)), " ", e.to_status ? badge(e.to_status) : "", " ", e.reason, h("span", { class: "muted" }, ` (${e.actor})`))));
    await moreLogs();
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
