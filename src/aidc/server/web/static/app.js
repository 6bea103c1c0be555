// The dashboard shell: sign-in, hash routing (#/jobs/7), and polling the open page every few seconds.
import { setToken, token, whenUnauthorized } from "./api.js";
import { errorBox, fill, h } from "./ui.js";

const POLL_MS = 3000;
const ROUTES = [
  [/^#\/overview$/, "overview"], [/^#\/floor$/, "floor"], [/^#\/jobs$/, "jobs"], [/^#\/jobs\/(\d+)$/, "job"],
  [/^#\/tenants$/, "tenants"], [/^#\/plan$/, "plan"], [/^#\/whatif$/, "whatif"], [/^#\/serving$/, "serving"],
];

const view = document.getElementById("view");
let current = null;   // the mounted page: { refresh?, dispose? }
let me = null;        // { user, role, tenant }
let timer = null;

function staff() { return me && (me.role === "admin" || me.role === "operator"); }

async function route() {
  if (!me) return;
  const hash = location.hash || "#/overview";
  let page = null, params = [];
  for (const [re, name] of ROUTES) { const m = hash.match(re); if (m) { page = name; params = m.slice(1); break; } }
  if (current && current.dispose) current.dispose();
  current = null;
  fill(view);
  if (!page) { fill(view, h("p", {}, "no such page; ", h("a", { href: "#/overview" }, "go to the overview"))); return; }
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === page || (page === "job" && a.dataset.page === "jobs"));
  document.body.dataset.page = page;
  try {
    const mod = await import(`./pages/${page}.js`);
    current = await mod.mount(view, { me, staff: staff(), params });
  } catch (e) { fill(view, errorBox(e)); }
}

async function poll() {
  if (current && current.refresh && document.visibilityState === "visible") {
    try { await current.refresh(); } catch (e) { console.warn("refresh failed", e); }
  }
}

function showSignin(message) {
  me = null;
  if (current && current.dispose) current.dispose();
  current = null;
  fill(view);
  document.getElementById("signin").hidden = false;
  document.getElementById("signout").hidden = true;
  document.getElementById("me").textContent = "";
  document.getElementById("signin-error").textContent = message || "";
}

async function signIn(tok) {
  const r = await fetch("/api/v1/whoami", { headers: { Authorization: `Bearer ${tok}` } });
  if (!r.ok) throw new Error(r.status === 401 ? "that token is not valid (expired or revoked?)" : `sign-in failed: ${r.status}`);
  me = await r.json();
  setToken(tok);
  document.getElementById("signin").hidden = true;
  document.getElementById("signout").hidden = false;
  document.getElementById("me").textContent = `${me.user} · ${me.role}${me.tenant ? " · " + me.tenant : ""}`;
  document.body.dataset.role = me.role;
  await route();
}

document.getElementById("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = document.getElementById("token");
  try { await signIn(input.value.trim()); input.value = ""; } catch (e) { showSignin(e.message); }
});
document.getElementById("signout").addEventListener("click", () => { setToken(null); showSignin("signed out"); });
whenUnauthorized(() => { setToken(null); showSignin("your token stopped working: sign in again"); });
window.addEventListener("hashchange", route);

timer = setInterval(poll, POLL_MS);
if (token()) signIn(token()).catch((e) => showSignin(e.message)); else showSignin();
