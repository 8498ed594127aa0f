// Drives the dashboard in headless Chromium (playwright-core), one scenario per run:
//   node tests/browser/dashboard.mjs SCENARIO URL SCREENSHOT.png
// The Rust test (tests/dashboard.rs) serves a recorder on loopback and acts on the
// node when asked: this script prints `ACTION name` and waits for a line on stdin.
// The last line is `PASS {json}` or `FAIL reason`; the exit code says the same.
import { createRequire } from "node:module";
import readline from "node:readline";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");
const [scenario, url, shot] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin });
const pending = [];
lines.on("line", (l) => { const r = pending.shift(); if (r) r(l); });
function action(name) {
  return new Promise((resolve) => { pending.push(resolve); console.log("ACTION " + name); });
}
function check(cond, msg) { if (!cond) throw new Error(msg); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const consoleErrors = [];
page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
page.on("pageerror", (e) => consoleErrors.push("pageerror: " + e.message));
let dialogs = 0;
page.on("dialog", async (d) => { dialogs++; await d.dismiss(); });
const T = { timeout: 15000 };
const result = { scenario };

async function ready() {
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready='1']", T);
}
async function badge() { return page.getAttribute("#health-badge", "data-status"); }

try {
  if (scenario === "load") {
    await ready();
    await page.waitForFunction(() => document.querySelectorAll("#events tbody tr").length > 0, null, T);
    await page.waitForFunction(() => document.querySelector("#sparkline polyline"), null, T);
    const m = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const res = performance.getEntriesByType("resource").filter((r) => !r.name.includes("/events/stream"));
      const assets = res.filter((r) => r.name.includes("/assets/"));
      return {
        load_ms: nav.loadEventEnd - nav.startTime,
        dom_content_loaded_ms: nav.domContentLoadedEventEnd - nav.startTime,
        page_bytes: nav.transferSize + assets.reduce((a, r) => a + r.transferSize, 0),
        page_body_bytes: nav.decodedBodySize + assets.reduce((a, r) => a + r.decodedBodySize, 0),
        requests: 1 + res.length,
        external: res.filter((r) => !r.name.startsWith(location.origin)).map((r) => r.name),
      };
    });
    Object.assign(result, m);
    check(m.external.length === 0, "loaded from elsewhere: " + m.external.join(", "));
    check((await badge()) === "healthy", "badge is " + (await badge()));
    check(await page.isVisible("#latency-chart rect"), "no latency bars");
    check(consoleErrors.length === 0, "console errors: " + consoleErrors.join(" | "));
  } else if (scenario === "degrade") {
    await ready();
    await page.waitForFunction(() => document.querySelector("#health-badge").dataset.status === "healthy", null, T);
    const before = await page.evaluate(() => getComputedStyle(document.querySelector("#health-badge")).backgroundColor);
    await action("degrade");
    await page.waitForFunction(() => document.querySelector("#health-badge").dataset.status === "degraded", null, T);
    await page.waitForFunction(() => document.querySelector("#health-reasons").textContent.includes("disk full"), null, T);
    const after = await page.evaluate(() => getComputedStyle(document.querySelector("#health-badge")).backgroundColor);
    check(before !== after, "badge colour did not change: " + before);
    result.colours = [before, after];
    check(consoleErrors.length === 0, "console errors: " + consoleErrors.join(" | "));
  } else if (scenario === "filter") {
    await ready();
    await page.waitForFunction(() => document.querySelectorAll("#events tbody tr").length >= 12, null, T);
    await page.fill("#f-text", "HANDSHAKE");
    await page.selectOption("#f-severity", "error");
    await page.click("#f-apply");
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("#events tbody tr")];
      return rows.length === 3 && rows.every((r) => ["error", "critical"].includes(r.dataset.severity));
    }, null, T);
    await page.click("#events tbody tr:first-child");
    const details = await page.textContent("#details");
    check(details.includes("\"event_type\": \"filter_test\""), "details: " + details);
    result.rows = 3;
    check(consoleErrors.length === 0, "console errors: " + consoleErrors.join(" | "));
  } else if (scenario === "tail") {
    await ready();
    await page.waitForFunction(() => document.querySelector("#tail-state").textContent === "following", null, T);
    await action("record5");
    await page.waitForFunction(() => [...document.querySelectorAll("#tail tbody tr td:nth-child(3)")].filter((td) => td.textContent === "tail_test").length === 5, null, T);
    await page.click("#tail-toggle");
    await page.waitForFunction(() => document.querySelector("#tail-state").textContent === "paused", null, T);
    const count = () => page.evaluate(() => [...document.querySelectorAll("#tail tbody tr td:nth-child(3)")].filter((td) => td.textContent === "while_paused").length);
    await action("record_paused");
    await page.waitForTimeout(1000);
    check((await count()) === 0, "rows added while paused");
    await page.click("#tail-toggle");
    await page.waitForFunction(() => document.querySelector("#tail-state").textContent === "following", null, T);
    await page.waitForTimeout(300);
    await action("burst");
    await page.waitForFunction(() => document.querySelector("#tail-lost").textContent.startsWith("lost "), null, T);
    result.lost_notice = await page.textContent("#tail-lost");
    check(consoleErrors.length === 0, "console errors: " + consoleErrors.join(" | "));
  } else if (scenario === "xss") {
    const evil = "<img src=x onerror=alert(1)>";
    await ready();
    await page.waitForFunction(() => document.querySelector("#tail-state").textContent === "following", null, T);
    await action("xss");
    await page.waitForFunction((t) => [...document.querySelectorAll("#tail tbody td")].some((td) => td.textContent === t), evil, T);
    await page.click("#f-apply");
    await page.waitForFunction((t) => [...document.querySelectorAll("#events tbody td")].some((td) => td.textContent === t), evil, T);
    await page.click("#events tbody tr:first-child");
    check((await page.textContent("#details")).includes(evil), "details lack the text");
    const imgs = await page.evaluate(() => document.querySelectorAll("main img, main b.injected").length);
    check(imgs === 0, imgs + " injected elements");
    await page.waitForTimeout(500);
    check(dialogs === 0, "a dialog opened: the markup ran");
    check(await page.evaluate(() => window.__xss === undefined), "script ran");
    check(consoleErrors.length === 0, "console errors: " + consoleErrors.join(" | "));
  } else if (scenario === "token") {
    await page.goto(url, { waitUntil: "load" });
    await page.waitForSelector("#token-dialog[open]", T);
    await page.screenshot({ path: shot.replace(".png", "-prompt.png") });
    await page.fill("#token-input", "wrong");
    await page.click("#token-submit");
    await page.waitForFunction(() => document.querySelector("#token-error").textContent.includes("refused"), null, T);
    await page.fill("#token-input", "s3cret-token");
    await page.click("#token-submit");
    await page.waitForSelector("body[data-ready='1']", T);
    await page.waitForFunction(() => document.querySelector("#health-badge").dataset.status === "healthy", null, T);
    await page.reload({ waitUntil: "load" });
    await page.waitForSelector("body[data-ready='1']", T);
    check(!(await page.isVisible("#token-dialog[open]")), "asked again after a reload");
    // The only errors are the refused requests themselves.
    const other = consoleErrors.filter((e) => !e.includes("401"));
    check(other.length === 0, "console errors: " + other.join(" | "));
  } else if (scenario === "replay") {
    await ready();
    await page.waitForSelector("#rec-list tbody tr[data-name='demo']", T);
    await page.click("#rec-list tbody tr[data-name='demo']");
    await page.waitForFunction(() => document.querySelectorAll("#rec-events tbody tr").length === 200, null, T);
    await page.fill("#replay-speed", "4");
    await page.click("#replay-start");
    await page.waitForFunction(() => document.querySelector("#replay-progress").value > 0 && document.querySelector("#replay-status").dataset.state === "running", null, T);
    await page.click("#replay-pause");
    await page.waitForFunction(() => document.querySelector("#replay-status").dataset.state === "paused", null, T);
    const a = await page.evaluate(() => document.querySelector("#replay-progress").value);
    await page.waitForTimeout(1500);
    const b = await page.evaluate(() => document.querySelector("#replay-progress").value);
    check(a === b && a < 200, "progress moved while paused: " + a + " → " + b);
    result.paused_at = a;
    await page.screenshot({ path: shot, fullPage: true });
    await page.click("#replay-resume");
    await page.waitForFunction((x) => document.querySelector("#replay-progress").value > x, a, T);
    await page.click("#replay-stop");
    await page.waitForFunction(() => document.querySelector("#replay-status").dataset.state === "stopped", null, T);
    check(consoleErrors.length === 0, "console errors: " + consoleErrors.join(" | "));
  } else {
    throw new Error("unknown scenario " + scenario);
  }
  if (scenario !== "replay") await page.screenshot({ path: shot, fullPage: true });
  console.log("PASS " + JSON.stringify(result));
  await browser.close();
  process.exit(0);
} catch (e) {
  try { await page.screenshot({ path: shot.replace(".png", "-failed.png"), fullPage: true }); } catch (_) {}
  console.log("FAIL " + String(e && e.message).split("\n").join(" "));
  await browser.close();
  process.exit(1);
}
