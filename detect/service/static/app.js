// framemark web page: upload a clip to POST /v1/detect and draw the verdict card.
// No libraries and no build step. Report text is only ever set with textContent,
// never innerHTML, so nothing in an uploaded file's manifest can inject markup.
"use strict";

const VERDICTS = {
  "ai-generated-signed": ["AI-generated", "ai", "Intact Content Credentials declare AI generation."],
  "ai-generated-watermarked": ["AI-generated", "ai", "No intact credentials, but a framemark watermark was detected."],
  "signed-capture-or-edit": ["Signed capture or edit", "ok", "Intact Content Credentials that declare no AI generation."],
  "tampered": ["Tampered", "warn", "Content Credentials are present but do not validate for this file."],
  "likely-ai": ["Likely AI-generated", "ai", "No hard evidence; the forensic classifier leans towards AI."],
  "unknown": ["Unknown", "none", "No credentials, no watermark, and the classifier cannot tell."],
};
const PROVENANCE = {
  trusted: ["Credentials: trusted signer", "ok"],
  valid: ["Credentials: unknown signer", "warn"],
  invalid: ["Credentials: invalid", "ai"],
  absent: ["No Content Credentials", "none"],
};

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
};
const first = (...vals) => vals.find((v) => v !== undefined && v !== null);

function provenanceOf(r) { return first(r.c2pa, r.provenance, r.verify) || {}; }

function watermarksOf(r) {
  let w = first(r.watermarks, r.watermark);
  if (!w) return [];
  if (Array.isArray(w)) return w;
  if (Array.isArray(w.results)) return w.results;
  if (typeof w === "object" && ("p_value" in w || "detected" in w)) return [w];
  return Object.entries(w).filter(([, v]) => v && typeof v === "object")
    .map(([alg, v]) => Object.assign({ alg }, v));
}

function fmtP(p) {
  if (typeof p !== "number") return "n/a";
  if (p === 0) return "< 1e-300";
  return p < 1e-3 ? p.toExponential(1) : p.toFixed(3);
}

function signerText(s) {
  if (!s) return null;
  if (typeof s === "string") return s;
  return first(s.common_name, s.name, s.issuer, s.organization) || JSON.stringify(s);
}

function actionText(a) {
  if (typeof a === "string") return a;
  let t = first(a.action, a.label, a.name) || JSON.stringify(a);
  const src = first(a.digitalSourceType, a.digital_source_type);
  if (src) t += " (" + String(src).split("/").pop() + ")";
  const agent = a.softwareAgent && (a.softwareAgent.name || a.softwareAgent);
  if (agent && typeof agent === "string") t += " by " + agent;
  return t;
}

function ingredientText(i) {
  if (typeof i === "string") return i;
  let t = first(i.title, i.name, i.format) || "ingredient";
  if (i.relationship) t += " (" + i.relationship + ")";
  const state = first(i.state, i.validation_state);
  if (state) t += ": " + state;
  return t;
}

function fillList(ul, items, fmt) {
  ul.replaceChildren();
  if (!items || !items.length) { ul.appendChild(el("li", "empty", "none")); return; }
  for (const it of items.slice(0, 50)) ul.appendChild(el("li", null, fmt(it)));
}

function addFact(dl, name, value) {
  if (value === undefined || value === null || value === "") return;
  dl.appendChild(el("dt", null, name));
  dl.appendChild(el("dd", null, value));
}

function drawPlot(svg, series) {
  // one polyline per algorithm, y scaled to the data (per-frame evidence has no fixed range)
  const NS = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  const W = 320, H = 120, L = 40, R = 6, T = 8, B = 18;
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const mk = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.appendChild(n);
    return n;
  };
  if (!all.length) {
    mk("text", { x: W / 2, y: H / 2, "text-anchor": "middle", "font-size": 11, fill: "#5b6478" }, "no per-frame evidence");
    return;
  }
  let lo = Math.min(0, ...all), hi = Math.max(...all);
  if (hi - lo < 1e-9) hi = lo + 1;
  const n = Math.max(...series.map((s) => s.values.length));
  const x = (i) => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  mk("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#c5ccd8", "stroke-width": 1 });
  mk("text", { x: L - 4, y: y(hi) + 4, "text-anchor": "end", "font-size": 9, fill: "#5b6478" }, hi.toPrecision(2));
  mk("text", { x: L - 4, y: y(lo) + 3, "text-anchor": "end", "font-size": 9, fill: "#5b6478" }, lo.toPrecision(2));
  mk("text", { x: L, y: H - 4, "font-size": 9, fill: "#5b6478" }, "frame 0");
  mk("text", { x: W - R, y: H - 4, "text-anchor": "end", "font-size": 9, fill: "#5b6478" }, "frame " + (n - 1));
  const colours = ["#2f5bd3", "#b42318", "#067647"];
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => (Number.isFinite(v) ? x(i).toFixed(1) + "," + y(v).toFixed(1) : null))
      .filter(Boolean).join(" ");
    mk("polyline", { points: pts, fill: "none", stroke: colours[k % colours.length], "stroke-width": 1.6,
      "data-alg": s.alg });
  });
}

function render(report) {
  const [word, cls, words] = VERDICTS[report.verdict] || [report.verdict || "No verdict", "none", ""];
  const v = $("verdict");
  v.textContent = word;
  v.className = "verdict " + cls;
  v.dataset.verdict = report.verdict || "";
  $("verdict-words").textContent = words;
  const up = report.upload || {};
  $("filename").textContent = (up.filename || "upload") + (up.bytes ? " \u00b7 " + (up.bytes / 1048576).toFixed(2) + " MB" : "");
  const score = typeof report.score === "number" ? report.score : null;
  $("score").textContent = score === null ? "n/a" : (100 * score).toFixed(1) + "%";
  $("score-bar").style.width = score === null ? "0" : (100 * score).toFixed(1) + "%";

  const prov = provenanceOf(report);
  const badges = $("badges");
  badges.replaceChildren();
  const state = prov.state || "absent";
  const [ptext, pcls] = PROVENANCE[state] || ["Credentials: " + state, "none"];
  badges.appendChild(Object.assign(el("span", "badge " + pcls, ptext), { id: "badge-provenance" }));
  const ai = first(prov.ai_generated, report.ai_generated);
  if (ai === true) badges.appendChild(el("span", "badge ai", "Declared AI-generated"));
  else if (ai === false) badges.appendChild(el("span", "badge ok", "Declared not AI-generated"));
  const wms = watermarksOf(report);
  const found = wms.filter((w) => w.detected);
  const checked = wms.filter((w) => !w.skipped && !w.error);
  const wmText = found.length ? "Watermark detected" : checked.length ? "No watermark" : "Watermark not checked";
  badges.appendChild(el("span", "badge " + (found.length ? "ai" : "none"), wmText));
  // recovery: {recovered, results: [{status: "recovered"|"rejected"|"unsigned", signer, actions, ...}]}
  const rec = report.recovery || {};
  const recovered = Array.isArray(rec.results) ? rec.results.find((r) => r && r.status === "recovered") : null;
  if (recovered) badges.appendChild(el("span", "badge warn", "Credentials recovered from watermark"));

  const dl = $("prov-facts");
  dl.replaceChildren();
  addFact(dl, "State", state);
  addFact(dl, "Signer", signerText(prov.signer));
  addFact(dl, "Signed", prov.signed_at);
  addFact(dl, "Source", prov.digital_source_type ? String(prov.digital_source_type).split("/").pop() : null);
  if (Array.isArray(prov.failures) && prov.failures.length) {
    addFact(dl, "Failures", prov.failures.map((f) => (typeof f === "string" ? f : f.code || JSON.stringify(f))).join(", "));
  }
  if (recovered) {
    // a recovered manifest describes the original clip, never this file: labelled as such
    addFact(dl, "Recovered", (recovered.manifest_id || "manifest") + " (via " + (recovered.source || "store") + ")");
    addFact(dl, "Recovered signer", signerText(recovered.signer));
    addFact(dl, "Recovered source", recovered.digital_source_type ? String(recovered.digital_source_type).split("/").pop() : null);
  }
  const actions = prov.actions && prov.actions.length ? prov.actions : (recovered && recovered.actions) || [];
  fillList($("actions"), actions, actionText);
  fillList($("ingredients"), prov.ingredients, ingredientText);

  const list = $("wm-list");
  list.replaceChildren();
  if (!wms.length) list.appendChild(el("div", "wm", "No watermark algorithm ran."));
  for (const w of wms) {
    const row = el("div", "wm");
    row.appendChild(el("b", null, w.alg || "watermark"));
    let t = " \u2014 " + (w.detected ? "detected" : "not detected") + ", p = " + fmtP(w.p_value);
    // payload is the identifier the report stands by; identified says when the store found it
    const ident = (w.identified && w.identified.payload) || null;
    const shown = w.payload || ident;
    if (shown) t += ", id " + shown + (shown === ident ? " (matched in the manifest store)" : "");
    if (w.error) t = " \u2014 " + w.error;
    if (w.skipped) t = " \u2014 not checked: " + (w.reason || "skipped");
    row.appendChild(document.createTextNode(t));
    list.appendChild(row);
  }
  drawPlot($("wm-plot"), wms.filter((w) => Array.isArray(w.per_frame))
    .map((w) => ({ alg: w.alg, values: w.per_frame.map(Number) })));

  const ev = Array.isArray(report.evidence) ? report.evidence : [];
  fillList($("evidence"), ev, (e) => {
    if (typeof e === "string") return e;
    const head = first(e.signal, e.name, e.kind) || "signal";
    const strength = e.strength !== undefined ? " [" + e.strength + "]" : "";
    return head + strength + ": " + (first(e.rule, e.detail, e.message) || "");
  });

  const thumbs = $("thumbs");
  thumbs.replaceChildren();
  $("thumb-main").replaceChildren();
  const tl = Array.isArray(report.thumbnails) ? report.thumbnails : [];
  tl.forEach((t, i) => {
    if (typeof t.uri !== "string" || !t.uri.startsWith("data:image/jpeg;base64,")) return;
    const fig = el("figure");
    const img = el("img");
    img.src = t.uri;
    img.alt = "frame " + t.frame;
    fig.appendChild(img);
    fig.appendChild(el("figcaption", null, (t.time_s !== undefined ? t.time_s + " s" : "frame " + t.frame)));
    thumbs.appendChild(fig);
    if (i === 0) {
      const big = el("img");
      big.src = t.uri;
      big.alt = "first thumbnail";
      $("thumb-main").appendChild(big);
    }
  });
  $("raw").textContent = JSON.stringify(report, (k, val) => (k === "thumbnails" ? "[" + tl.length + " images]" : val), 2);
  $("card").hidden = false;
}

function showStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = "status" + (isError ? " error" : "");
  s.hidden = false;
}

async function upload(file) {
  $("card").hidden = true;
  showStatus("Analysing " + file.name + " \u2026", false);
  const form = new FormData();
  form.append("file", file, file.name);
  let res, body;
  try {
    res = await fetch("/v1/detect?thumbnails=6", { method: "POST", body: form });
    body = await res.json();
  } catch (err) {
    showStatus("The service could not be reached or answered something unreadable (" + err + ").", true);
    return;
  }
  if (!res.ok) {
    const e = (body && body.error) || {};
    let msg = "Could not analyse " + file.name + ": " + (e.message || res.statusText) + " (HTTP " + res.status + ")";
    const retry = res.headers.get("Retry-After");
    if (retry) msg += ". Try again in " + retry + " s.";
    showStatus(msg, true);
    return;
  }
  $("status").hidden = true;
  render(body);
}

function init() {
  const input = $("file");
  input.addEventListener("change", () => { if (input.files && input.files[0]) upload(input.files[0]); });
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { const f = e.dataTransfer && e.dataTransfer.files[0]; if (f) upload(f); });
}

init();
