// Serving: deployments (jobs of kind "serve") with their state, GPUs and endpoint when the job reports one.
import { api } from "../api.js";
import { ago, badge, fill, h, table } from "../ui.js";

// A deployment's endpoint, when its spec declares one (env AIDC_ENDPOINT or workload_config.port on its node).
function endpoint(j) {
  if (j.spec.env && j.spec.env.AIDC_ENDPOINT) return j.spec.env.AIDC_ENDPOINT;
  const port = j.spec.workload_config && j.spec.workload_config.port;
  return port && j.placement.length ? `http://${j.placement[0][0]}:${port}` : null;
}

export async function mount(el) {
  const list = h("div", { id: "deployments" });
  fill(el, h("h1", {}, "Serving"), h("p", { class: "muted" }, "Deployments are jobs of kind serve. Submit one from Queue & jobs with kind serve."), list);
  async function refresh() {
    const jobs = await api("/jobs?kind=serve&limit=200");
    fill(list, table([
      { label: "deployment", cell: (j) => h("a", { href: `#/jobs/${j.id}` }, `${j.id} ${j.name}`) },
      { label: "tenant", cell: (j) => j.tenant }, { label: "status", cell: (j) => badge(j.status) },
      { label: "replicas", cell: (j) => j.spec.replicas || 1 }, { label: "GPUs", cell: (j) => `${j.gpus}${j.gpu_model ? " × " + j.gpu_model : ""}` },
      { label: "endpoint", cell: (j) => endpoint(j) || h("span", { class: "muted" }, "not reported") },
      { label: "since", cell: (j) => ago(j.started_s || j.submitted_s) },
    ], jobs, { empty: "no deployments yet" }));
  }
  await refresh();
  return { refresh };
}
