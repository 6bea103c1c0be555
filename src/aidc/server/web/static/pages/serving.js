// Serving: deployments (jobs of kind "serve") with their state, GPUs and endpoint, and a prompt box
// for running ones (the prompt goes through /api/v1/deployments/{id}/prompt, with the caller's token).
import { api } from "../api.js";
import { ago, badge, fill, h, table } from "../ui.js";

function promptBox(deployments) {
  const live = deployments.filter((d) => d.status === "running" && d.endpoint);
  if (!live.length) return h("p", { class: "muted", id: "prompt-none" }, "No running deployment with an endpoint to try.");
  const pick = h("select", { id: "prompt-deployment" }, live.map((d) => h("option", { value: d.id }, `${d.id} ${d.name}`)));
  const text = h("textarea", { id: "prompt-text", rows: 3, placeholder: "Ask something" });
  const out = h("pre", { id: "prompt-answer", class: "log" });
  const send = h("button", {
    id: "prompt-send", class: "primary",
    onclick: async () => {
      out.textContent = "…";
      try {
        const r = await api(`/deployments/${pick.value}/prompt`, { method: "POST", body: { prompt: text.value, max_tokens: 64 } });
        out.textContent = `${r.text}\n\n(${r.latency_s} s, ${r.endpoint})`;
      } catch (e) {
        out.textContent = `error: ${e.message}`;
      }
    },
  }, "Send");
  return h("div", { class: "card", id: "prompt" }, h("h2", {}, "Try a prompt"), pick, text, send, out);
}

export async function mount(el) {
  const list = h("div", { id: "deployments" });
  const tryIt = h("div", { id: "try" });
  fill(el, h("h1", {}, "Serving"), h("p", { class: "muted" }, "Deployments are jobs of kind serve. Submit one from Queue & jobs with kind serve."), list, tryIt);
  let shown = "";
  async function refresh() {
    const rows = await api("/deployments");
    fill(list, table([
      { label: "deployment", cell: (d) => h("a", { href: `#/jobs/${d.id}` }, `${d.id} ${d.name}`) },
      { label: "status", cell: (d) => badge(d.status) },
      { label: "replicas", cell: (d) => d.replicas },
      { label: "endpoint", cell: (d) => d.endpoint || h("span", { class: "muted" }, "not reported") },
      { label: "since", cell: (d) => ago(d.started_s) },
    ], rows, { empty: "no deployments yet" }));
    const key = rows.filter((d) => d.status === "running" && d.endpoint).map((d) => d.id).join(",");
    if (key !== shown) { shown = key; fill(tryIt, promptBox(rows)); }  // keep what the user typed
  }
  await refresh();
  return { refresh };
}
