// The page: builds a neurona-web Trainer from the controls, trains it in
// chunks between animation frames (so the page stays responsive and Stop
// takes effect at once), and draws the loss curve and, for 2-D problems,
// the decision boundary under the points.
import init, { Trainer } from "./pkg/neurona_web.js";

const $ = (id) => document.getElementById(id);
const status = $("status");
const errorBox = $("error");
let trainer = null;
let running = false;
// A Trainer's methods may not be called while its train() is pending
// (wasm-bindgen refuses the aliasing): `current` is the training loop,
// settled once it has stopped, and `chunk` its pending train() call.
let current = Promise.resolve();
let chunk = Promise.resolve();
let losses = [];
let csvText = null;

function showError(e) {
  errorBox.textContent = "error: " + (e && e.message ? e.message : String(e));
  if (!trainer) status.textContent = "no network to train: change the settings above";
  running = false;
  $("train").disabled = false;
  $("stop").disabled = true;
}

window.addEventListener("error", (e) => showError(e.error || e.message));
window.addEventListener("unhandledrejection", (e) => showError(e.reason));

// One build at a time: a change while one runs waits for it.
let building = Promise.resolve();
function build() {
  const next = building.then(buildNow);
  building = next.catch(() => {});
  return next;
}

async function buildNow() {
  running = false;
  // The old trainer's last chunk ends before a new one is drawn.
  await current;
  errorBox.textContent = "";
  losses = [];
  trainer = null;
  if ($("problem").value === "csv" && csvText === null) {
    throw new Error("choose a CSV file first");
  }
  trainer = await Trainer.create(
    $("problem").value,
    $("problem").value === "csv" ? csvText : undefined,
    $("hidden").value,
    $("activation").value,
    $("optimizer").value,
    Number($("lr").value),
    Number($("batch").value),
    $("backend").value,
    1,
    $("many").checked ? 64 : 1,
  );
  draw();
  status.textContent = `device: ${trainer.device()} | network ${trainer.network()}${together()} | press Train`;
}

// "train 64 at once": the networks train in one sweep, the page shows their
// mean (boundary, accuracy) and the mean of their losses.
function together() {
  return trainer && trainer.networks() > 1 ? ` x ${trainer.networks()} networks (their mean)` : "";
}

function drawChart() {
  const c = $("chart"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  g.fillStyle = "#222";
  g.fillText("loss (log scale) by step: training (blue), validation (orange)", 8, 14);
  if (losses.length < 2) return;
  const log = (l) => Math.log10(Math.max(l, 1e-6));
  const all = losses.flatMap(([, l, v]) => (Number.isNaN(v) ? [log(l)] : [log(l), log(v)]));
  const lo = Math.min(...all), hi = Math.max(...all);
  const maxStep = losses[losses.length - 1][0] || 1;
  const curve = (k, color) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    let started = false;
    for (const point of losses) {
      if (Number.isNaN(point[k])) continue;
      const x = 30 + (c.width - 40) * (point[0] / maxStep);
      const y = 24 + (c.height - 40) * (hi === lo ? 0.5 : (hi - log(point[k])) / (hi - lo));
      if (!started) g.moveTo(x, y); else g.lineTo(x, y);
      started = true;
    }
    g.stroke();
  };
  curve(1, "#1f6feb");
  curve(2, "#e36209");
  g.fillStyle = "#222";
  g.fillText(losses[losses.length - 1][1].toExponential(3), c.width - 80, c.height - 6);
}

function drawBoundary() {
  const c = $("boundary"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  if (!trainer || !trainer.is_two_d()) {
    g.fillStyle = "#666";
    g.fillText("(the decision boundary is drawn for 2-D problems)", 20, c.height / 2);
    return;
  }
  const n = 60, lim = 2.6, cell = c.width / n;
  const p = trainer.grid(n, lim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = p[i * n + j];
      const r = Math.round(255 - 90 * v), b = Math.round(165 + 90 * v);
      g.fillStyle = `rgb(${r},${Math.round(200 - 30 * Math.abs(v - 0.5))},${b})`;
      g.fillRect(j * cell, i * cell, cell + 1, cell + 1);
    }
  }
  const pts = trainer.points();
  for (let k = 0; k < pts.length; k += 3) {
    const x = (pts[k] + lim) / (2 * lim) * c.width;
    const y = (lim - pts[k + 1]) / (2 * lim) * c.height;
    g.fillStyle = pts[k + 2] > 0.5 ? "#1d4ed8" : "#dc2626";
    g.beginPath();
    g.arc(x, y, 3, 0, 2 * Math.PI);
    g.fill();
  }
}

function draw() {
  drawChart();
  drawBoundary();
}

// Trains `t` until Stop or until the page builds another trainer.
async function loop(t) {
  let last = performance.now(), lastSteps = t.steps();
  while (running && t === trainer) {
    const t0 = performance.now();
    const pending = t.train(1);
    chunk = pending.catch(() => {});
    const loss = await pending;
    if (!running || t !== trainer) break;
    losses.push([t.steps(), loss, t.validation_loss()]);
    const acc = t.accuracy();
    draw();
    const now = performance.now();
    const rate = (t.steps() - lastSteps) / ((now - last) / 1000);
    last = now; lastSteps = t.steps();
    const val = t.validation_loss();
    status.textContent =
      `device: ${t.device()}${together()} | step ${t.steps()} | loss ${loss.toFixed(4)}` +
      (Number.isNaN(val) ? "" : ` | validation loss ${val.toFixed(4)}`) +
      (Number.isNaN(acc) ? "" : ` | training accuracy ${(100 * acc).toFixed(1)}%`) +
      ` | ${rate.toFixed(0)} steps/s`;
    // Give the browser a frame between chunks.
    await new Promise((r) => requestAnimationFrame(() => r()));
    void t0;
  }
}

$("train").onclick = async () => {
  try {
    await building;
    // A stopped loop first finishes its last chunk.
    await current;
    if (!trainer) await build();
    running = true;
    $("train").disabled = true;
    $("stop").disabled = false;
    $("download").disabled = false;
    const run = loop(trainer);
    current = run.catch(() => {});
    await run;
  } catch (e) {
    showError(e);
  }
};
$("stop").onclick = () => {
  running = false;
  $("train").disabled = false;
  $("stop").disabled = true;
};
$("reset").onclick = async () => {
  running = false;
  $("train").disabled = false;
  $("stop").disabled = true;
  try { await build(); } catch (e) { showError(e); }
};
// Each problem starts from its own recipe: the notebook's 3-4-1 sigmoid
// network (no bias, full batch, learning rate 1, plain SGD), the lesson's
// single neuron (no hidden layer), a small ReLU net with Adam otherwise.
const PRESETS = {
  notebook: { hidden: "4", activation: "sigmoid", optimizer: "sgd", lr: 1, batch: 0 },
  spam: { hidden: "", activation: "sigmoid", optimizer: "sgd", lr: 0.5, batch: 32 },
  other: { hidden: "16,16", activation: "relu", optimizer: "adam", lr: 0.01, batch: 32 },
};
$("problem").addEventListener("change", () => {
  const p = PRESETS[$("problem").value] ?? PRESETS.other;
  for (const [id, v] of Object.entries(p)) $(id).value = v;
});

for (const id of ["problem", "hidden", "activation", "optimizer", "lr", "batch", "backend", "many"]) {
  $(id).onchange = async () => {
    $("csv-label").hidden = $("problem").value !== "csv";
    running = false;
    $("train").disabled = false;
    $("stop").disabled = true;
    if ($("problem").value === "csv" && csvText === null) { trainer = null; return; }
    try { await build(); } catch (e) { showError(e); }
  };
}
$("csv").onchange = async () => {
  const file = $("csv").files[0];
  if (!file) return;
  csvText = await file.text();
  try { await build(); } catch (e) { showError(e); }
};
$("download").onclick = async () => {
  try {
    // Between chunks: not while train() is pending.
    await chunk;
    const bytes = trainer.model_file();
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = "model.safetensors";
    a.click();
    URL.revokeObjectURL(url);
  } catch (e) {
    showError(e);
  }
};

try {
  await init();
  if (!navigator.gpu) {
    status.textContent = "this browser has no WebGPU: training on the CPU path";
  }
  await build();
} catch (e) {
  showError(e);
}
