// The restore page: open an image, paint a mask, inpaint, upscale or denoise through the server's API, compare,
// download.
// Plain JS, no build step and nothing fetched from elsewhere: the page works offline.
"use strict";

const $ = (id) => document.getElementById(id);
const el = {
  input: $("image-input"), brush: $("brush-size"), brushValue: $("brush-size-value"), eraser: $("eraser"),
  undo: $("undo"), redo: $("redo"), clear: $("clear"), method: $("inpaint-method"), runInpaint: $("run-inpaint"),
  scale: $("scale-select"), upMethod: $("upscale-method"), denoiseGroup: $("denoise-group"), denoise: $("denoise"), runUpscale: $("run-upscale"),
  strength: $("denoise-strength"), strengthValue: $("denoise-strength-value"), runDenoise: $("run-denoise"),
  zoomIn: $("zoom-in"), zoomOut: $("zoom-out"), zoomFit: $("zoom-fit"), zoomValue: $("zoom-value"),
  compare: $("compare"), keep: $("keep"), download: $("download"), status: $("status"), error: $("error"),
  stage: $("stage"), dropHint: $("drop-hint"), view: $("view"), source: $("source-image"),
  result: $("result-image"), divider: $("divider"), canvas: $("mask-canvas"), cursor: $("cursor"), busy: $("busy"), busyText: $("busy-text"),
};
const ctx = el.canvas.getContext("2d");

const state = {
  file: null,          // the Blob sent to the server: the original file's bytes, never a re-encoding
  fileName: "image",  // the opened file's name (names the upload in the server's messages)
  name: "image",       // its stem, for download names
  w: 0, h: 0,          // natural size of the source
  strokes: [],         // {erase, size, points:[[x,y]...]} or {clear:true}, in image pixels; the mask is their replay
  redo: [],
  drawing: null,
  erase: false,
  zoom: 1, fit: true,
  sourceUrl: null,
  result: null,        // {blob, url, name}
  models: [],
  busy: false,
};

// --- messages ------------------------------------------------------------------------------------------------

function showError(message) {
  el.error.textContent = message;
  el.error.hidden = false;
}
function clearError() { el.error.hidden = true; el.error.textContent = ""; }
function say(message) { el.status.textContent = message; }
window.addEventListener("error", (e) => showError(`page error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => showError(`page error: ${e.reason && e.reason.message || e.reason}`));

// --- opening an image ------------------------------------------------------------------------------------------

function stemOf(name) { return (name || "image").replace(/\.[^./\\]{1,5}$/, "") || "image"; }

// shown from the file itself, or — for formats browsers do not display (TIFF) — from the server's 8-bit preview;
// the original bytes are what is sent for processing either way
let opening = 0;  // the newest open wins: a late preview or decode never replaces a later choice

function openBlob(blob, name, shown = blob, ticket = ++opening) {
  if (state.busy) { showError("wait for the current request to finish before opening another image"); return; }
  clearError();
  const url = URL.createObjectURL(shown);
  const probe = new Image();
  probe.onload = () => {
    if (ticket !== opening) { URL.revokeObjectURL(url); return; }
    if (state.sourceUrl) URL.revokeObjectURL(state.sourceUrl);
    state.file = blob; state.fileName = name; state.name = stemOf(name); state.sourceUrl = url;
    state.w = probe.naturalWidth; state.h = probe.naturalHeight;
    el.source.src = url;
    el.canvas.width = state.w; el.canvas.height = state.h;
    state.strokes = []; state.redo = [];
    setResult(null);
    el.view.hidden = false; el.dropHint.hidden = true;
    state.fit = true; layout();
    say(`${name}: ${state.w}×${state.h}. Paint over what should go, then Inpaint — or Upscale, or Denoise.`);
    refresh();
  };
  probe.onerror = async () => {
    URL.revokeObjectURL(url);
    if (ticket !== opening) return;
    if (shown !== blob) {
      showError(`${name}: the server's preview could not be displayed`);
      return;
    }
    const form = new FormData();
    form.append("image", blob, name);
    let response;
    try {
      response = await fetch("api/preview", { method: "POST", body: form });
    } catch (err) {
      showError("cannot reach the restore server (is `restore serve` still running?)");
      return;
    }
    if (!response.ok) {
      let message = `${name}: not an image this server can read`;
      try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
      showError(message);
      return;
    }
    const preview = await response.blob();
    if (ticket === opening) openBlob(blob, name, preview, ticket);
  };
  probe.src = url;
}

el.input.addEventListener("change", () => {
  const f = el.input.files && el.input.files[0];
  if (f) openBlob(f, f.name);
  el.input.value = "";  // opening the same file again still fires
});
el.stage.addEventListener("dragover", (e) => { e.preventDefault(); el.stage.classList.add("dragging"); });
el.stage.addEventListener("dragleave", () => el.stage.classList.remove("dragging"));
el.stage.addEventListener("drop", (e) => {
  e.preventDefault(); el.stage.classList.remove("dragging");
  const f = e.dataTransfer && e.dataTransfer.files[0];
  if (f) openBlob(f, f.name);
});

// --- zoom -------------------------------------------------------------------------------------------------------

function layout() {
  if (!state.w) return;
  if (state.fit) {
    const r = el.stage.getBoundingClientRect();
    // small images are enlarged too (up to 4×), so that there is room to paint on them
    state.zoom = Math.min((r.width - 20) / state.w, (r.height - 20) / state.h, 4);
  }
  el.view.style.width = `${Math.max(1, Math.round(state.w * state.zoom))}px`;
  el.view.style.height = `${Math.max(1, Math.round(state.h * state.zoom))}px`;
  el.zoomValue.textContent = `${Math.round(state.zoom * 100)}%`;
  sizeCursor();
}
function zoomBy(f) { state.fit = false; state.zoom = Math.min(16, Math.max(0.05, state.zoom * f)); layout(); }
el.zoomIn.addEventListener("click", () => zoomBy(1.25));
el.zoomOut.addEventListener("click", () => zoomBy(0.8));
el.zoomFit.addEventListener("click", () => { state.fit = true; layout(); });
window.addEventListener("resize", () => { if (state.fit) layout(); });
el.stage.addEventListener("wheel", (e) => {
  if (!e.ctrlKey || !state.w) return;
  e.preventDefault(); zoomBy(e.deltaY < 0 ? 1.1 : 1 / 1.1);
}, { passive: false });

// --- the mask: strokes replayed onto the canvas ------------------------------------------------------------------

function drawStroke(c, s, paint, erase) {
  c.save();
  if (s.erase) { if (erase === "cut") c.globalCompositeOperation = "destination-out"; c.strokeStyle = c.fillStyle = erase === "cut" ? "#000" : erase; }
  else { c.strokeStyle = c.fillStyle = paint; }
  c.lineWidth = s.size; c.lineCap = "round"; c.lineJoin = "round";
  const p = s.points;
  if (p.length === 1) {
    c.beginPath(); c.arc(p[0][0], p[0][1], s.size / 2, 0, Math.PI * 2); c.fill();
  } else {
    c.beginPath(); c.moveTo(p[0][0], p[0][1]);
    for (let i = 1; i < p.length; i++) c.lineTo(p[i][0], p[i][1]);
    c.stroke();
  }
  c.restore();
}
// replay onto the visible canvas (red; the eraser cuts) or the exported mask (white on black; the eraser paints black)
function replay(c, paint, erase, background) {
  c.clearRect(0, 0, state.w, state.h);
  if (background) { c.fillStyle = background; c.fillRect(0, 0, state.w, state.h); }
  let start = 0;
  state.strokes.forEach((s, i) => { if (s.clear) start = i + 1; });
  for (const s of state.strokes.slice(start)) drawStroke(c, s, paint, erase);
}
function redraw() { replay(ctx, "#ff2020", "cut", null); refresh(); }
function hasMask() {
  let n = 0;
  for (const s of state.strokes) { if (s.clear) n = 0; else if (!s.erase) n++; }
  return n > 0;
}
function maskBlob() {
  const off = document.createElement("canvas");
  off.width = state.w; off.height = state.h;
  replay(off.getContext("2d"), "#fff", "#000", "#000");
  return new Promise((resolve) => off.toBlob(resolve, "image/png"));
}

function toImage(e) {
  const r = el.canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * state.w / r.width, (e.clientY - r.top) * state.h / r.height];
}
function brushPx() { return Math.max(1, Number(el.brush.value) / state.zoom); }

el.canvas.addEventListener("pointerdown", (e) => {
  if (state.busy || !state.w || e.button !== 0) return;
  e.preventDefault();
  el.canvas.setPointerCapture(e.pointerId);
  showMask();
  state.drawing = { erase: state.erase, size: brushPx(), points: [toImage(e)] };
  drawStroke(ctx, state.drawing, "#ff2020", "cut");
});
el.canvas.addEventListener("pointermove", (e) => {
  moveCursor(e);
  if (!state.drawing) return;
  const pts = state.drawing.points;
  const from = pts.length - 1;
  for (const ev of (e.getCoalescedEvents ? e.getCoalescedEvents() : [e])) pts.push(toImage(ev));
  // draw the new part only (from the last drawn point); the full replay happens on undo/redo/clear
  drawStroke(ctx, { ...state.drawing, points: pts.slice(from) }, "#ff2020", "cut");
});
function endStroke() {
  if (!state.drawing) return;
  state.strokes.push(state.drawing); state.redo = []; state.drawing = null;
  redraw();
}
el.canvas.addEventListener("pointerup", endStroke);
el.canvas.addEventListener("pointercancel", endStroke);
el.canvas.addEventListener("pointerleave", () => { el.cursor.hidden = true; });
el.canvas.addEventListener("pointerenter", (e) => { el.cursor.hidden = false; moveCursor(e); });

function sizeCursor() {
  el.cursor.style.width = el.cursor.style.height = `${el.brush.value}px`;
}
function moveCursor(e) {
  const r = el.view.getBoundingClientRect();
  el.cursor.style.left = `${e.clientX - r.left}px`;
  el.cursor.style.top = `${e.clientY - r.top}px`;
}
el.brush.addEventListener("input", () => { el.brushValue.textContent = el.brush.value; sizeCursor(); });

function undo() { if (!state.busy && state.strokes.length) { state.redo.push(state.strokes.pop()); showMask(); redraw(); } }
function redo() { if (!state.busy && state.redo.length) { state.strokes.push(state.redo.pop()); showMask(); redraw(); } }
function clearMask() { if (!state.busy && hasMask()) { state.strokes.push({ clear: true }); state.redo = []; showMask(); redraw(); } }
function toggleEraser() { state.erase = !state.erase; el.eraser.setAttribute("aria-pressed", String(state.erase)); }
el.undo.addEventListener("click", undo);
el.redo.addEventListener("click", redo);
el.clear.addEventListener("click", clearMask);
el.eraser.addEventListener("click", toggleEraser);

document.addEventListener("keydown", (e) => {
  if (e.target instanceof HTMLSelectElement) return;
  const k = e.key.toLowerCase();
  if ((e.ctrlKey || e.metaKey) && k === "z") { e.preventDefault(); (e.shiftKey ? redo : undo)(); }
  else if ((e.ctrlKey || e.metaKey) && k === "y") { e.preventDefault(); redo(); }
  else if (e.ctrlKey || e.metaKey || e.altKey) return;
  else if (k === "e") toggleEraser();
  else if (k === "[" || k === "]") {
    el.brush.value = String(Number(el.brush.value) + (k === "]" ? 5 : -5));
    el.brush.dispatchEvent(new Event("input"));
  } else if (k === "+" || k === "=") zoomBy(1.25);
  else if (k === "-") zoomBy(0.8);
  else if (k === "0") { state.fit = true; layout(); }
});

// --- results ------------------------------------------------------------------------------------------------------

// two views of the stage: editing (the mask over the source) and the result (over the source, for comparing)
function showMask() { el.result.hidden = el.divider.hidden = true; el.canvas.classList.remove("hidden-mask"); }
function showResult() {
  if (!state.result) return;
  el.result.hidden = false; el.canvas.classList.add("hidden-mask");
  el.divider.hidden = el.compare.value === "0";
}
// left of the divider: the original; right of it: the result
function applyCompare() {
  el.result.style.clipPath = `inset(0 0 0 ${el.compare.value}%)`;
  el.divider.style.left = `${el.compare.value}%`;
  showResult();
}
el.compare.addEventListener("input", applyCompare);

function setResult(r) {
  if (state.result) URL.revokeObjectURL(state.result.url);
  state.result = r;
  if (r) {
    el.result.src = r.url;
    el.download.href = r.url; el.download.download = r.name;
    el.compare.value = "0"; applyCompare();
  } else {
    el.result.removeAttribute("src"); el.result.removeAttribute("data-ready");
    el.download.removeAttribute("href");
    showMask();
  }
  refresh();
}
el.keep.addEventListener("click", () => {
  if (!state.result || state.busy) return;
  openBlob(state.result.blob, state.result.name);  // once it shows, setResult(null) revokes the result's URL
});

function refresh() {
  const ready = !!state.w && !state.busy;
  el.runInpaint.disabled = !ready || !hasMask();
  el.runUpscale.disabled = !ready;
  el.runDenoise.disabled = !ready;
  el.undo.disabled = !state.strokes.length || state.busy;
  el.redo.disabled = !state.redo.length || state.busy;
  el.clear.disabled = !hasMask() || state.busy;
  el.compare.disabled = el.keep.disabled = !state.result || state.busy;
  el.input.disabled = state.busy;
  el.download.classList.toggle("disabled", !state.result);
  el.download.setAttribute("aria-disabled", String(!state.result));
  const real = state.models.some((m) => m.name === `sr-real-x${el.scale.value}`);
  el.denoiseGroup.hidden = !real || el.upMethod.value !== "auto";  // the strength blends the auto pair
}

// the upscaling choices for the chosen scale: auto, the models made for it, the classical methods
function fillUpscaleMethods() {
  const s = Number(el.scale.value), keep = el.upMethod.value;
  const names = state.models.filter((m) => m.task === "sr" && m.scales.includes(s)).map((m) => m.name);
  el.upMethod.replaceChildren(new Option("auto", "auto"), ...names.map((n) => new Option(n, n)));
  el.upMethod.value = names.includes(keep) ? keep : "auto";
}
el.scale.addEventListener("change", () => { fillUpscaleMethods(); refresh(); });
el.upMethod.addEventListener("change", refresh);

// one request at a time: busy is set before anything is awaited, so a double click sends one request
async function run(path, buildForm, label, resultName) {
  if (state.busy || !state.file) return;
  clearError();
  state.busy = true; el.busy.hidden = false; el.busyText.textContent = `${label}…`;
  document.body.setAttribute("aria-busy", "true");
  refresh();
  const t0 = performance.now();
  try {
    const form = await buildForm();
    let response;
    try {
      response = await fetch(path, { method: "POST", body: form });
    } catch (err) {
      throw new Error("cannot reach the restore server (is `restore serve` still running?)");
    }
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
      throw new Error(message);
    }
    const blob = await response.blob();
    const r = { blob, url: URL.createObjectURL(blob), name: resultName };
    await new Promise((resolve, reject) => {
      el.result.onload = resolve;
      const size = response.headers.get("X-Restore-Size");
      el.result.onerror = () => reject(new Error(size
        ? `the ${size.replace("x", "×")} result is too large for this browser to display; Download still saves it`
        : "the server's result could not be displayed; Download still saves it"));
      setResult(r);
    });
    const secs = (performance.now() - t0) / 1000;
    el.result.dataset.ready = "true";
    el.result.dataset.elapsed = secs.toFixed(3);
    const server = response.headers.get("X-Restore-Seconds");
    say(`${label}: ${el.result.naturalWidth}×${el.result.naturalHeight} in ${secs.toFixed(2)} s ` +
        `(computing ${server} s) with ${response.headers.get("X-Restore-Model")}. Drag Compare to see the original.`);
  } catch (err) {
    showError(err.message);
  } finally {
    state.busy = false; el.busy.hidden = true; document.body.removeAttribute("aria-busy");
    refresh();
  }
}

el.runInpaint.addEventListener("click", () => {
  if (!hasMask()) return;
  run("api/inpaint", async () => {
    const form = new FormData();
    form.append("image", state.file, state.fileName);
    form.append("mask", await maskBlob(), "mask.png");
    if (el.method.value !== "auto") form.append("method", el.method.value);
    return form;
  }, "Inpainted", `${state.name}_inpainted.png`);
});
el.runUpscale.addEventListener("click", () => {
  const scale = el.scale.value;
  run("api/upscale", async () => {
    const form = new FormData();
    form.append("image", state.file, state.fileName);
    form.append("scale", scale);
    if (el.upMethod.value !== "auto") form.append("method", el.upMethod.value);
    if (!el.denoiseGroup.hidden && el.denoise.value !== "auto") form.append("denoise", el.denoise.value);
    return form;
  }, `Upscaled ×${scale}`, `${state.name}_x${scale}.png`);
});
el.strength.addEventListener("input", () => { el.strengthValue.textContent = el.strength.value; });
el.runDenoise.addEventListener("click", () => {
  const strength = el.strength.value;
  run("api/denoise", async () => {
    const form = new FormData();
    form.append("image", state.file, state.fileName);  // the server reads the file's own JPEG tables
    form.append("strength", strength);
    return form;
  }, `Denoised (strength ${strength})`, `${state.name}_denoised.png`);
});

// --- start ---------------------------------------------------------------------------------------------------------

async function loadModels() {
  try {
    const response = await fetch("api/models");
    state.models = await response.json();
  } catch (err) {
    showError("cannot reach the restore server (is `restore serve` still running?)");
    return;
  }
  const methods = state.models.filter((m) => m.task === "inpaint");
  el.method.replaceChildren(new Option("auto", "auto"),
    ...methods.map((m) => new Option(m.default ? `${m.name} (default)` : m.name, m.name)));
  fillUpscaleMethods();
  refresh();
}
el.brushValue.textContent = el.brush.value;
el.strengthValue.textContent = el.strength.value;
sizeCursor();
refresh();
loadModels();
