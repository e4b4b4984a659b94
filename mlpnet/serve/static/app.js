// mlpnet serve: the drawing page. Plain JavaScript, no libraries, nothing from the internet.
"use strict";

const $ = (id) => document.getElementById(id);
const predictionEl = $("prediction");
const confidenceEl = $("confidence");
const errorEl = $("error");
const barsEl = $("bars");
let classes = [];

// ---- the answer panel -------------------------------------------------------------------

function buildBars(names) {
  classes = names;
  barsEl.replaceChildren(...names.map((name) => {
    const li = document.createElement("li");
    li.dataset.label = name;
    li.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="pct"></span>';
    li.querySelector(".name").textContent = name;
    li.querySelector(".name").title = name;
    return li;
  }));
}

// An answer by the model's task: a class (label, probability), label sets (labels), or values.
function showAnswer(a) {
  predictionEl.classList.remove("idle");
  errorEl.textContent = "";
  if (a.values) {
    const entries = Object.entries(a.values);
    predictionEl.textContent = entries.length === 1 ? Number(entries[0][1].toPrecision(4)).toString() :
      entries.map(([name, v]) => `${name} ${Number(v.toPrecision(4))}`).join(", ");
    confidenceEl.textContent = entries.length === 1 ? `predicted ${entries[0][0]}` : "predicted values";
    return;
  }
  const chosen = a.labels ? new Set(a.labels) : new Set([a.label]);
  if (a.labels) {
    predictionEl.textContent = a.labels.length ? a.labels.join(", ") : "none";
    confidenceEl.textContent = "every label over 50%";
  } else {
    predictionEl.textContent = a.label;
    confidenceEl.textContent = `${(100 * a.probability).toFixed(1)}% sure` +
      (a.label === String(a.index) ? "" : ` (class ${a.index})`);
  }
  for (const li of barsEl.children) {
    const p = a.probabilities[li.dataset.label] ?? 0;
    li.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    li.querySelector(".pct").textContent = `${(100 * p).toFixed(1)}%`;
    li.classList.toggle("top", chosen.has(li.dataset.label));
  }
  if (a.input) showSeen(a.input, a.activations || []);
}

function resetAnswer(message) {
  predictionEl.textContent = "–";
  predictionEl.classList.add("idle");
  confidenceEl.textContent = message;
  errorEl.textContent = "";
  for (const li of barsEl.children) {
    li.querySelector(".fill").style.width = "0";
    li.querySelector(".pct").textContent = "";
    li.classList.remove("top");
  }
  $("seen-card").hidden = true;
}

function showSeen(input, activations) {
  $("seen-card").hidden = false;
  $("seen").src = "data:image/png;base64," + input.png;
  $("seen-caption").innerHTML = `${input.shape.slice(0, 2).join("×")} after the same preprocessing as <code>mlpnet predict</code>`;
  const holder = $("hidden-layers");
  $("hidden-figure").hidden = activations.length === 0;
  holder.replaceChildren(...activations.map((layer) => layerCanvas(layer)));
  $("hidden-caption").textContent =
    `hidden layers (${activations.map((l) => l.length).join(", ")} units): brighter is stronger`;
}

function layerCanvas(values) {
  // One cell per unit, laid out in a near-square grid; brightness is the activation.
  const cols = Math.ceil(Math.sqrt(values.length));
  const rows = Math.ceil(values.length / cols);
  const c = document.createElement("canvas");
  c.width = cols; c.height = rows;
  c.style.width = `${Math.min(140, cols * 9)}px`;
  c.style.height = `${Math.min(140, cols * 9) * rows / cols}px`;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  values.forEach((v, i) => {
    const t = Math.max(0, Math.min(1, Math.abs(v)));
    img.data.set([56 * t, 189 * t, 248 * t, 255], 4 * i);  // the accent colour, scaled
  });
  ctx.putImageData(img, 0, 0);
  return c;
}

function showError(message) {
  resetAnswer("");
  predictionEl.textContent = "?";
  errorEl.textContent = message;
}

// ---- requests: at most one in flight; a newer drawing is sent when it returns ------------

let sent = 0, shown = 0, inFlight = false, dirty = false;

function setState() {
  const idle = predictionEl.classList.contains("idle") && !errorEl.textContent;
  predictionEl.dataset.state = inFlight || dirty ? "pending" : errorEl.textContent ? "error" : idle ? "idle" : "done";
}

async function post(body, headers) {
  const r = await fetch("/predict?activations=1", { method: "POST", headers, body });
  let doc;
  try { doc = await r.json(); } catch { doc = { error: `HTTP ${r.status}` }; }
  if (!r.ok) throw new Error(doc.error || `HTTP ${r.status}`);
  return doc;
}

async function predictCanvas() {
  if (inFlight) { dirty = true; setState(); return; }
  if (!inked) return;
  dirty = false;
  inFlight = true; setState();
  const seq = ++sent;
  try {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const a = await post(blob, { "Content-Type": "image/png" });
    if (seq > shown && inked) { shown = seq; showAnswer(a); }
  } catch (err) {
    if (seq > shown && inked) { shown = seq; showError(err.message); }
  } finally {
    inFlight = false;
    if (dirty) predictCanvas(); else setState();
  }
}

// ---- drawing: pointer events cover mouse, pen and touch ----------------------------------

const canvas = $("canvas");
const ctx = canvas.getContext("2d");
let drawing = false, inked = false, last = null, liveTimer = null;

function clearCanvas() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#fff";  // the ink, for the dot that starts each stroke
  inked = false;
  dirty = false;
  clearTimeout(liveTimer);  // no live answer for a stroke that is gone
  liveTimer = null;
  shown = sent;  // answers still on their way belong to the old drawing
  resetAnswer("draw something");
  setState();
}

function point(e) {
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
}

function strokeTo(p) {
  ctx.beginPath();
  ctx.moveTo(last[0], last[1]);
  ctx.lineTo(p[0], p[1]);
  ctx.stroke();
  last = p;
}

function startDrawing() {
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#fff";
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = canvas.width / 14;  // about two MNIST pixels once scaled to the 20-pixel box

  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    drawing = true;
    inked = true;
    last = point(e);
    ctx.beginPath();
    ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of (events.length ? events : [e])) strokeTo(point(ev));
    // A live answer while the stroke goes on, at most every 200 ms.
    if (!liveTimer) liveTimer = setTimeout(() => { liveTimer = null; predictCanvas(); }, 200);
  });
  const end = (e) => {
    if (!drawing) return;
    drawing = false;
    if (canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
    clearTimeout(liveTimer);  // the stroke is over: this answer replaces the pending live one
    liveTimer = null;
    predictCanvas();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", clearCanvas);
  clearCanvas();
}

// ---- tabular models: a form from the stored feature names ---------------------------------

// columns: the CSV file's own columns ({name, categories?}); a word column gets a menu.
function startForm(columns, allowMissing) {
  const form = $("tabular");
  $("fields").replaceChildren(...columns.map((col, i) => {
    const label = document.createElement("label");
    label.textContent = col.name;
    let input;
    if (col.categories) {
      input = document.createElement("select");
      const options = allowMissing ? ["", ...col.categories] : col.categories;
      input.replaceChildren(...options.map((c) => {
        const o = document.createElement("option");
        o.value = c; o.textContent = c === "" ? "(missing)" : c;
        return o;
      }));
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.required = !allowMissing;
      if (allowMissing) input.placeholder = "(missing)";
    }
    input.name = col.name;
    input.setAttribute("data-testid", `feature-${i}`);
    label.append(input);
    return label;
  }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const row = {};
    for (const input of form.querySelectorAll("input, select")) row[input.name] = input.value.trim();
    inFlight = true; setState();
    try {
      const doc = await post(JSON.stringify({ rows: [row] }), { "Content-Type": "application/json" });
      showAnswer(doc.predictions[0]);
    } catch (err) {
      showError(err.message);
    } finally {
      inFlight = false; setState();
    }
  });
  resetAnswer("fill in the features and press Predict");
}

// ---- start -------------------------------------------------------------------------------

async function start() {
  try {
    const r = await fetch("/model");
    const m = await r.json();
    if (!r.ok) throw new Error(m.error || `HTTP ${r.status}`);
    const acc = m.test && m.test.accuracy != null ? `, test accuracy ${(100 * m.test.accuracy).toFixed(1)}%` : "";
    $("model-summary").textContent =
      `${m.path}: ${m.architecture.sizes.join("-")} ${m.architecture.activation}, ` +
      `${m.dataset || "unknown data"}, ` + (m.task === "regression" ? `predicts ${m.targets.join(", ")}` :
        `${m.classes.length} ${m.task === "multilabel" ? "labels" : "classes"}${acc}`);
    buildBars(m.task === "regression" ? [] : m.classes);
    if (m.input && m.input.kind === "table") {
      $("input-title").textContent = "Enter the features";
      $("tabular").hidden = false;
      const csv = m.input.csv;
      startForm(csv ? csv.columns : m.input.features.map((name) => ({ name })),
                Boolean(csv && csv.missing && csv.missing !== "error"));
    } else {
      $("input-title").textContent = m.dataset && m.dataset.includes("fashion") ? "Draw a piece of clothing" : "Draw a digit";
      $("draw").hidden = false;
      startDrawing();
    }
  } catch (err) {
    $("model-summary").textContent = `cannot read the model: ${err.message}`;
  }
}

start();
