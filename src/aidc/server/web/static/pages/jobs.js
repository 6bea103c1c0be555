// Queue and jobs: filter by tenant, status and kind; why each pending job waits and when it should start; submit; cancel.
import { api } from "../api.js";
import { TERMINAL, ago, badge, errorBox, fill, h, table } from "../ui.js";

const STATUSES = ["", "pending", "starting", "running", "succeeded", "failed", "cancelled"];
const KINDS = ["", "train", "finetune", "eval", "batch_infer", "serve", "data", "custom"];

const select = (name, options, label) => h("label", {}, label,
  h("select", { name, id: `f-${name}` }, options.map((o) => h("option", { value: o }, o || "any"))));

function waitCell(j) {
  if (j.status !== "pending") return j.reason;
  const eta = j.eta_s ? h("span", { class: "eta" }, `starts ${ago(j.eta_s)}`) : h("span", { class: "muted" }, "no start expected yet");
  return h("div", { class: "why" }, h("span", { class: "reason" }, j.reason), " ", eta);
}

function submitForm(tenants, onDone) {
  const msg = h("p", { class: "muted", role: "status" });
  const form = h("form", { id: "submit-form", class: "form-grid" },
    h("label", {}, "Name", h("input", { name: "name", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._-]*", value: "my-job" })),
    h("label", {}, "Kind", h("select", { name: "kind" }, KINDS.slice(1).map((k) => h("option", { value: k, selected: k === "custom" }, k)))),
    h("label", { class: "wide" }, "Command", h("input", { name: "command", value: "sleep 30" })),
    h("label", {}, "GPUs", h("input", { name: "gpus", type: "number", min: 0, value: 1 })),
    h("label", {}, "GPU model", h("input", { name: "gpu_model", placeholder: "any" })),
    h("label", {}, "Estimated runtime (s)", h("input", { name: "estimated_runtime_s", type: "number", min: 1, placeholder: "unknown" })),
    tenants.length > 1 ? h("label", {}, "Tenant", h("select", { name: "tenant" }, tenants.map((t) => h("option", { value: t }, t)))) : null,
    h("button", { type: "submit" }, "Submit"), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const spec = { name: f.get("name"), kind: f.get("kind"), command: f.get("command") || null, gpus: Number(f.get("gpus") || 0) };
    if (f.get("gpu_model")) spec.gpu_model = f.get("gpu_model");
    if (f.get("estimated_runtime_s")) spec.estimated_runtime_s = Number(f.get("estimated_runtime_s"));
    try {
      const job = await api("/jobs", { method: "POST", body: { spec, tenant: f.get("tenant") || null } });
      fill(msg, "submitted ", h("a", { href: `#/jobs/${job.id}` }, `job ${job.id}`));
      onDone();
    } catch (e) { fill(msg, errorBox(e)); }
  });
  return form;
}

const secs = (v) => v == null ? "-" : v >= 3600 ? `${(v / 3600).toFixed(1)} h` : `${Math.round(v)} s`;

function predictorCard(p) {
  // what the run-time predictor knows, and how wrong it was on held-out finished jobs of this cluster
  if (!p || !p.enabled) return h("p", { id: "predictor", class: "muted" }, "Run-time predictor: off (AIDC_RUNTIME_PREDICTOR=false)");
  if (!p.available) return h("p", { id: "predictor", class: "muted" }, "Run-time predictor: scikit-learn is not installed");
  const a = p.accuracy || {};
  if (!p.ready) {
    return h("p", { id: "predictor", class: "muted" },
      `Run-time predictor: learning (${a.jobs || 0} finished jobs at its last fit, every ${Math.round(p.refit_s)} s; it starts at ${p.min_jobs})`);
  }
  const pct = (v) => v == null ? "-" : `${Math.round(100 * v)}%`;
  return h("div", { id: "predictor", class: "card" },
    h("strong", {}, "Run-time predictor "),
    `trained on ${a.jobs} finished jobs; on the latest ${a.scored} (held out): median error ${secs(a.median_abs_error_s)}, `,
    `${pct(a.within_2x)} within 2x. The tenant-and-size history: ${secs(a.baseline_median_abs_error_s)}, ${pct(a.baseline_within_2x)}`,
    a.user_estimate_jobs ? `; users' own estimates: ${secs(a.user_estimate_median_abs_error_s)} (${a.user_estimate_jobs} jobs).` : ".");
}

export async function cancelJob(id, after) {
  try { await api(`/jobs/${id}/cancel`, { method: "POST", body: { reason: "cancelled from the dashboard" } }); }
  catch (e) { alert(`cancel failed: ${e.message}`); }
  await after();
}

export async function mount(el) {
  const tenants = (await api("/tenants")).map((t) => t.name);
  const filters = h("form", { class: "filters", id: "filters" }, select("tenant", ["", ...tenants], "Tenant"),
    select("status", STATUSES, "Status"), select("kind", KINDS, "Kind"));
  const list = h("div", { id: "job-list" });
  const predictor = h("div", { id: "predictor-box" });
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  fill(el, h("h1", {}, "Queue and jobs"), h("details", { class: "card" }, h("summary", {}, "Submit a job"), submitForm(tenants, () => refresh())),
    predictor, filters, list);

  async function refresh() {
    const q = new URLSearchParams({ limit: "200" });
    for (const k of ["tenant", "status", "kind"]) { const v = filters.elements[k].value; if (v) q.set(k, v); }
    const [jobs, pred] = await Promise.all([api(`/jobs?${q}`), api("/predictor").catch(() => null)]);
    fill(predictor, predictorCard(pred));
    fill(list, table([
      { label: "job", cell: (j) => h("a", { href: `#/jobs/${j.id}` }, `${j.id} ${j.name}`) },
      { label: "tenant", cell: (j) => j.tenant }, { label: "kind", cell: (j) => j.kind },
      { label: "status", cell: (j) => badge(j.status) },
      { label: "GPUs", cell: (j) => `${j.gpus}${j.gpu_model ? " × " + j.gpu_model : ""}` },
      { label: "why / when", cell: waitCell },
      { label: "submitted", cell: (j) => ago(j.submitted_s) },
      { label: "", cell: (j) => TERMINAL.has(j.status) ? "" : h("button", { class: "small danger", "data-cancel": j.id, onclick: () => cancelJob(j.id, refresh) }, "Cancel") },
    ], jobs, { empty: "no jobs match", rowAttrs: (j) => ({ "data-job": j.id, "data-status": j.status }) }));
  }
  for (const k of ["tenant", "status", "kind"]) if (params.get(k)) filters.elements[k].value = params.get(k);
  filters.addEventListener("change", refresh);
  await refresh();
  return { refresh };
}
