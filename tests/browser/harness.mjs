// What the browser tests share: `kefu serve` on a free port with a fresh data directory, Debian's
// headless Chromium driven by playwright-core, pages that record dialogs, page errors, console errors
// and CSP violations, named steps with screenshots on a failure, and helpers for the API, the widget
// and the console. A test file:
//
//   const h = await setUp('my_test.mjs');
//   await h.run(async () => { await h.step('...', async () => { ... }); });
//
// with the command line `node tests/browser/my_test.mjs KEFU_BINARY SOURCE_ROOT OUT_DIR`. run() exits
// the process: 0 when every step passed and no page had a problem, 1 otherwise.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

// `env`: variables for kefu serve on top of this process's (a value of undefined removes one).
export async function setUp(name, { env = {} } = {}) {
  const [kefuBin, sourceRoot, outDir] = process.argv.slice(2);
  if (!kefuBin || !sourceRoot || !outDir) {
    console.error(`usage: ${name} KEFU_BINARY SOURCE_ROOT OUT_DIR`);
    process.exit(2);
  }
  const CHROMIUM = process.env.KEFU_CHROMIUM || '/usr/bin/chromium';
  const UPDATE_DOCS = process.env.KEFU_UPDATE_SCREENSHOTS === '1';

  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    console.error('FAIL: playwright-core is not installed: run `npm ci` at the repository root (tools/test does).');
    process.exit(1);
  }
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`FAIL: no Chromium at ${CHROMIUM}: install Debian's chromium package (tools/setup does).`);
    process.exit(1);
  }
  fs.mkdirSync(outDir, { recursive: true });

  // ---- kefu serve -----------------------------------------------------------------------------

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-browser-'));
  const kefuLog = [];
  const serveEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete serveEnv[k];
    else serveEnv[k] = v;
  }
  const kefu = spawn(kefuBin, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--config', path.join(sourceRoot, 'kefu.demo.json')], {
    env: serveEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  kefu.stderr.on('data', (d) => {
    kefuLog.push(d.toString());
    if (kefuLog.length > 400) kefuLog.splice(0, kefuLog.length - 400);
  });
  let base;
  let browser;
  try {
    base = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('kefu serve printed no address within 60 s')), 60000);
      kefu.on('exit', (code) => reject(new Error(`kefu serve exited with ${code}: ${kefuLog.join('')}`)));
      readline.createInterface({ input: kefu.stdout }).on('line', (line) => {
        const m = /^kefu is listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    console.log(`kefu serve on ${base}, data in ${dataDir}`);

    // ---- The browser --------------------------------------------------------------------------

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
  } catch (e) {
    console.error(`FAIL: ${e.message}`);
    kefu.kill('SIGTERM');
    await new Promise((resolve) => (kefu.exitCode !== null || kefu.signalCode !== null ? resolve() : kefu.on('exit', resolve)));
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  }

  const pages = new Map();   // name -> page, for screenshots on failure
  const problems = [];       // dialogs, page errors, console errors: each fails the run at the end
  let failures = 0;
  let passed = 0;
  const reported = new WeakSet();  // errors a failed step has printed already

  // Records a CSP violation seen by the page (runs before any page script; not subject to the CSP).
  const CSP_PROBE = () => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  };

  async function newPage(context, pageName) {
    const page = await context.newPage();
    page.setDefaultTimeout(15000);
    await page.addInitScript(CSP_PROBE);
    page.on('dialog', async (d) => {
      problems.push(`${pageName}: a dialog opened: ${d.type()} ${d.message()}`);
      await d.dismiss().catch(() => {});
    });
    page.on('pageerror', (e) => problems.push(`${pageName}: page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource|net::ERR_FAILED/.test(m.text())) {
        problems.push(`${pageName}: console error: ${m.text()}`);
      }
    });
    pages.set(pageName, page);
    return page;
  }

  async function cspViolations(page) {
    return page.evaluate(() => window.__cspViolations || []);
  }

  async function step(stepName, fn) {
    const started = Date.now();
    try {
      await fn();
      passed++;
      console.log(`ok - ${stepName} (${Date.now() - started} ms)`);
    } catch (e) {
      failures++;
      console.log(`not ok - ${stepName}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
      if (e && typeof e === 'object') reported.add(e);
      for (const [pageName, page] of pages) {
        if (page.isClosed()) continue;
        const file = path.join(outDir, `failure-${pageName}.png`);
        await page.screenshot({ path: file, fullPage: false }).catch(() => {});
        console.log(`  screenshot: ${file}`);
      }
      throw e;
    }
  }

  // Writes OUT_DIR/file; with KEFU_UPDATE_SCREENSHOTS=1 also docs/file.
  async function screenshot(page, file, locator) {
    const out = path.join(outDir, file);
    await (locator || page).screenshot({ path: out });
    if (UPDATE_DOCS) fs.copyFileSync(out, path.join(sourceRoot, 'docs', file));
  }

  async function api(method, route, body, token) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json();
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(data)}`);
    return data;
  }

  // Waits until `predicate()` holds (checked every 50 ms).
  async function until(predicate, what, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  // Widget locators (Playwright's CSS engine pierces the open shadow root of <kefu-widget>).
  const W = (sel) => `kefu-widget ${sel}`;

  // The customer types `text` in the widget and sends it with Enter.
  async function ask(page, text) {
    await page.locator(W('textarea')).fill(text);
    await page.locator(W('textarea')).press('Enter');
    await page.locator(W('.msg-customer .text'), { hasText: text }).last().waitFor();
  }

  // Opens the console and logs in; returns the response of the console page.
  async function consoleLogin(page, desk, username, password) {
    const res = await page.goto(`${base}/console`);
    await page.locator('#login-form input[name=desk]').fill(desk);
    await page.locator('#login-form input[name=username]').fill(username);
    await page.locator('#login-form input[name=password]').fill(password);
    await page.locator('#login-form button[type=submit]').click();
    return res;
  }

  // Runs the scenarios, then checks that no page had a problem, stops everything and exits.
  async function run(scenarios) {
    const started = Date.now();
    let exitCode = 0;
    try {
      await scenarios();
      await step('no dialogs, page errors or console errors on any page', async () => {
        assert.deepEqual(problems, []);
      });
    } catch (e) {
      exitCode = 1;
      if (!(e && typeof e === 'object' && reported.has(e))) console.log(`not ok - outside any step: ${e && e.stack ? e.stack : e}`);
    } finally {
      await browser.close().catch(() => {});
      kefu.kill('SIGTERM');
      await new Promise((resolve) => (kefu.exitCode !== null || kefu.signalCode !== null ? resolve() : kefu.on('exit', resolve)));
      if (exitCode !== 0 || failures > 0) {
        console.log('--- last lines of kefu serve\'s log:');
        console.log(kefuLog.join('').split('\n').slice(-40).join('\n'));
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    console.log(`${passed} passed, ${failures} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    process.exit(exitCode || (failures > 0 ? 1 : 0));
  }

  return {
    base, dataDir, sourceRoot, outDir, browser, problems,
    newPage, cspViolations, step, screenshot, api, until, W, ask, consoleLogin, run,
  };
}
