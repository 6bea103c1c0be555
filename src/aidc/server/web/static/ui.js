// Small DOM helpers: elements without innerHTML (server data is always text), tables, times, charts.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const fill = (el, ...children) => { el.replaceChildren(...children.flat(Infinity).filter((c) => c != null)); return el; };

export function table(columns, rows, { empty = "nothing yet", rowAttrs } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)));
  const body = rows.length ? rows.map((r) => h("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h("td", { "data-label": c.label }, c.cell(r)))))
    : [h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, empty))];
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

export const badge = (status) => h("span", { class: `badge s-${status}` }, status);

export function ago(epochS) {
  if (epochS == null) return "";
  const d = Date.now() / 1000 - epochS;
  return d < 0 ? `in ${dur(-d)}` : `${dur(d)} ago`;
}

export function dur(s) {
  if (s == null) return "";
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

export const clock = (epochS) => epochS == null ? "" : new Date(epochS * 1000).toLocaleString();
export const num = (x, digits = 1) => x == null ? "" : Number(x).toLocaleString(undefined, { maximumFractionDigits: digits });
export const pct = (x) => `${Math.round((x || 0) * 100)} %`;

export function card(label, value, extra) {
  return h("div", { class: "card stat" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), extra ? h("div", { class: "muted" }, extra) : null);
}

const LAYOUT = { margin: { l: 48, r: 16, t: 32, b: 40 }, height: 280, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
  legend: { orientation: "h", y: -0.2 }, font: { size: 12 } };

// Plotly 3 takes axis titles as {text}; pages write the short form `title: "GPUs"`.
function titled(layout) {
  const out = { ...layout };
  for (const [k, v] of Object.entries(out)) if (/^[xy]axis\d*$/.test(k) && typeof v.title === "string") out[k] = { ...v, title: { text: v.title } };
  return out;
}

// Draw or update a Plotly chart in `el`; without plotly (not installed) say so instead.
export function chart(el, traces, layout = {}) {
  if (!window.Plotly) { fill(el, h("p", { class: "muted" }, "charts need plotly (pip install plotly)")); return; }
  el.classList.add("chart");
  // an x-axis title needs room: the legend goes below it instead of on top of it
  const xTitled = Object.entries(layout).some(([k, v]) => /^xaxis\d*$/.test(k) && v && v.title);
  const room = xTitled ? { margin: { ...LAYOUT.margin, b: 84 }, legend: { orientation: "h", y: -0.42 } } : {};
  window.Plotly.react(el, traces, titled({ ...LAYOUT, ...room, ...layout }), { displayModeBar: false, responsive: true });
}

export function errorBox(e) { return h("p", { class: "error", role: "alert" }, `${e.status || ""} ${e.message}`); }

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
