// plan: not built yet (see docs/dashboard.md).
import { fill, h } from "../ui.js";

export async function mount(el) {
  fill(el, h("h1", {}, "plan"), h("p", { class: "muted" }, "This page is coming: see docs/dashboard.md."));
  return {};
}
