// The page end to end: serve web/ on 127.0.0.1, open it in headless
// Chromium (Debian's, driven by playwright-core over CDP), choose the two
// moons, click Train, wait until the status line shows a loss below 0.1, a
// training accuracy of at least 95% and the validation rows' loss, and save
// a screenshot
// (web/screenshot.png); the same with "train 64 at once" (their mean), and
// on the CPU path. Any error shown in the page or logged to the
// console fails it.
//
//   web/serve.sh --build-only && (cd web && npm ci && npm test)
//
// Without Chromium it says loudly that it skipped; with CI=true it fails.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const web = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const LOSS_BELOW = 0.1;
const ACCURACY_AT_LEAST = 95;

function fail(message) {
  console.error(`e2e FAILED: ${message}`);
  process.exit(1);
}

if (!existsSync(browserPath)) {
  if (process.env.CI === "true") fail(`CI=true but no browser at ${browserPath}`);
  console.error(`!!! e2e SKIPPED, it did not run: no browser at ${browserPath} (apt-get install chromium)`);
  process.exit(0);
}
if (!existsSync(path.join(web, "pkg", "neurona_web.js"))) {
  fail("web/pkg is missing: run web/serve.sh --build-only first");
}

// A static server on a free port.
const port = 8700 + Math.floor(Math.random() * 200);
const server = spawn("python3", ["-m", "http.server", "--bind", "127.0.0.1", "--directory", web, String(port)], {
  stdio: "ignore",
});
process.on("exit", () => server.kill());
await new Promise((r) => setTimeout(r, 800));

const browser = await chromium.launch({
  executablePath: browserPath,
  headless: true,
  args: ["--enable-unsafe-webgpu", "--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
const problems = [];
page.on("console", (m) => {
  if (m.type() === "error") problems.push(`console: ${m.text()}`);
});
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

try {
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("press Train"), null, { timeout: 60_000 });
  await page.selectOption("#problem", "moons");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("press Train"), null, { timeout: 60_000 });
  const device = await page.textContent("#status");
  console.log(`page ready: ${device}`);
  const untilLearnt = async (what) => {
    const deadline = Date.now() + 240_000;
    for (;;) {
      const last = await page.textContent("#status");
      const shown = (await page.textContent("#error")).trim();
      if (shown) fail(`${what}: the page shows: ${shown}`);
      if (problems.length) fail(problems.join("\n"));
      const loss = /\| loss ([0-9.]+)/.exec(last);
      const acc = /training accuracy ([0-9.]+)%/.exec(last);
      // The held-out fifth of the moons is checked every epoch too.
      const val = /validation loss ([0-9.]+)/.exec(last);
      if (loss && acc && val && Number(loss[1]) < LOSS_BELOW && Number(acc[1]) >= ACCURACY_AT_LEAST) return last;
      if (Date.now() > deadline) fail(`${what}: no loss < ${LOSS_BELOW} with accuracy >= ${ACCURACY_AT_LEAST}% in time; last status: ${last}`);
      await page.waitForTimeout(500);
    }
  };
  await page.click("#train");
  const onGpu = await untilLearnt("WebGPU");
  await page.screenshot({ path: path.join(web, "screenshot.png") });
  await page.click("#stop");
  console.log(`e2e ok: ${onGpu}`);
  console.log(`screenshot: ${path.join(web, "screenshot.png")}`);
  // Train again at once after Stop, and download mid-run: the stopped
  // loop's last chunk ends before anything else calls the trainer (it may
  // not be used while its train() is pending).
  await page.click("#train");
  await page.click("#download");
  await page.click("#stop");
  await page.click("#train");
  await page.click("#download");
  await page.waitForTimeout(2000);
  const clash = (await page.textContent("#error")).trim();
  if (clash) fail(`stop, train and download at once: the page shows: ${clash}`);
  await page.click("#stop");

  // "Train 64 at once": one sweep of 64 networks, the page showing their
  // mean, learns the moons as well.
  await page.check("#many");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("x 64 networks (their mean) | press Train"), null, { timeout: 60_000 });
  await page.click("#train");
  const together = await untilLearnt("64 at once");
  if (!together.includes("x 64 networks")) fail(`not 64 networks: ${together}`);
  await page.click("#stop");
  console.log(`e2e ok: ${together}`);
  await page.uncheck("#many");
  await page.waitForFunction(() => !document.getElementById("status").textContent.includes("networks") && document.getElementById("status").textContent.includes("press Train"), null, { timeout: 60_000 });

  // The CPU path, compiled to wasm32: what a browser without WebGPU gets.
  await page.selectOption("#backend", "cpu");
  await page.waitForFunction(() => document.getElementById("status").textContent.includes("press Train"), null, { timeout: 60_000 });
  await page.click("#train");
  const onCpu = await untilLearnt("CPU path");
  if (!onCpu.includes("device: CPU path (asked for)")) fail(`not on the CPU path: ${onCpu}`);
  await page.click("#stop");
  console.log(`e2e ok: ${onCpu}`);
} catch (e) {
  fail(e.stack ?? String(e));
} finally {
  await browser.close();
  server.kill();
}
if (problems.length) fail(problems.join("\n"));
