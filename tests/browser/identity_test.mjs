// Browser test of signed employees on the web widget (issue 19, item 2): the demo intranet page
// (/intranet) signs its employee with the demo desk's published secret, the widget starts their own
// conversation with the JWT, and the agent console shows their name and department; a JWT that is
// expired or wrongly signed gets the "sign in again" message and starts nothing anonymous; a visitor
// who signs in mid-conversation (kefu('identify', jwt)) keeps their conversation, and after signing
// out the public page does not show it.
//
//   node tests/browser/identity_test.mjs KEFU_BINARY SOURCE_ROOT OUT_DIR
//
// Screenshots: console-employee.png and widget-employee.png (docs/ with KEFU_UPDATE_SCREENSHOTS=1).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { setUp } from './harness.mjs';

const DEMO_SECRET = 'demo-app-secret-change-me';  // kefu.demo.json's hr desk: a published demo secret
const REFUSED = 'We could not confirm that you are signed in';

const { base, browser, newPage, cspViolations, step, screenshot, until, W, ask, consoleLogin, run } =
  await setUp('identity_test.mjs');

// An HS256 JWT as an intranet's backend mints it (docs/channels.md has the same in Node).
function employeeJwt(claims, { secret = DEMO_SECRET, ttl = 600 } = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, iat: now, exp: now + ttl })}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

// The widget's saved conversation of the hr desk ({id, token, open, user}), or null.
const saved = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('kefu.widget.hr') || 'null'));

// Collects the start route's responses of a page: [{status, body}].
function watchStarts(page) {
  const starts = [];
  page.on('response', async (r) => {
    if (!r.url().endsWith('/v1/desks/hr/conversations') || r.request().method() !== 'POST') return;
    starts.push({ status: r.status(), body: await r.json().catch(() => null), sent: r.request().postDataJSON() });
  });
  return starts;
}

async function employeeScenario() {
  const customer = await newPage(await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' }), 'employee');
  const agent = await newPage(await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' }), 'employee-agent');
  const starts = watchStarts(customer);

  await step('the demo intranet page is signed in as Wang Fang, with a strict CSP and the JWT in the tag', async () => {
    const res = await customer.goto(`${base}/intranet`);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['cache-control'], 'no-store');
    const csp = res.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal((await customer.locator('.signed-in').textContent()).trim(), 'Signed in as Wang Fang · Finance');
    const jwt = await customer.locator('script[data-user-jwt]').getAttribute('data-user-jwt');
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'emp-1024');
    assert.equal(claims.department, 'Finance');
    assert.ok(claims.exp - claims.iat === 3600, 'an hour-long JWT');
    assert.deepEqual(await cspViolations(customer), []);
  });

  await step('the widget starts the employee\'s own conversation with the JWT', async () => {
    await customer.locator(W('.bubble')).click();
    await customer.locator(W('.msg-bot .text'), { hasText: 'Ask me anything' }).waitFor();
    await until(() => starts.length === 1, 'the start\'s response');
    assert.equal(starts[0].status, 201);
    assert.match(starts[0].sent.customer.jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(starts[0].sent.customer.link_token, undefined);
    assert.equal((await saved(customer)).user, 'emp-1024');
    await ask(customer, 'How do I apply for annual leave?');
    await customer.locator(W('.msg-bot .text'), { hasText: 'HR portal' }).waitFor();
  });

  await step('the console shows the employee\'s name and department; the widget shows the agent\'s name', async () => {
    await consoleLogin(agent, 'hr', 'li.na', 'demo-li.na-8080');
    await agent.locator('#app').waitFor();
    await agent.locator('.presence button[data-presence=online]').click();
    await agent.locator('.presence button[data-presence=online][aria-checked=true]').waitFor();
    await customer.locator(W('.person')).click();
    const item = agent.locator('#mine-list .conv-item').first();
    await item.waitFor();
    assert.equal(await item.locator('.c-who').textContent(), 'Wang Fang (Finance)');
    await item.click();
    await agent.locator('#history .h-customer .h-text', { hasText: 'How do I apply for annual leave?' }).waitFor();
    assert.equal(await agent.locator('#conv-customer').textContent(), 'Wang Fang (Finance)');
    await agent.locator('#reply').fill('Hi Wang Fang, I can see your leave request. Anything else?');
    await agent.locator('#btn-send').click();
    const reply = customer.locator(W('.msg-agent')).last();
    await reply.locator('.text', { hasText: 'Hi Wang Fang' }).waitFor();
    assert.equal(await reply.locator('.who').textContent(), 'Li Na');
  });

  await step('screenshots: console-employee.png and widget-employee.png', async () => {
    await agent.locator('#toasts .toast').first().waitFor({ state: 'detached', timeout: 10000 }).catch(() => {});
    await screenshot(agent, 'console-employee.png');
    await screenshot(customer, 'widget-employee.png');
  });

  await step('resolved, then reloaded: the same conversation, history included, the reply still by "Li Na"', async () => {
    // With no assignee left, only the reply's own author_name can name the agent.
    await agent.locator('#btn-resolve').click();
    await customer.locator(W('.status'), { hasText: 'This conversation is resolved' }).waitFor();
    const before = await saved(customer);
    await customer.reload();
    await customer.locator(W('.msg-agent .text'), { hasText: 'Hi Wang Fang' }).waitFor();
    assert.equal((await saved(customer)).id, before.id);
    assert.equal(await customer.locator(W('.msg-customer .text'), { hasText: 'How do I apply for annual leave?' }).count(), 1);
    assert.equal(await customer.locator(W('.msg-agent .who')).last().textContent(), 'Li Na');
    assert.equal(starts.length, 1, 'the reload used the device\'s token, no new start');
  });
}

async function refusedScenario() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  // A page of "the intranet" whose backend handed out an expired JWT (served on kefu's origin).
  const expired = employeeJwt({ sub: 'emp-3001', name: 'Chen Jie', department: 'Legal' }, { ttl: -600 });
  await context.route(`${base}/stale-intranet`, (route) => route.fulfill({
    status: 200,
    headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'none'; script-src 'self'; connect-src 'self'" },
    body: `<!doctype html><html lang="en"><body><h1>Intranet</h1><script src="/widget.js" data-desk="hr" data-user-jwt="${expired}"></script></body></html>`,
  }));
  const page = await newPage(context, 'refused');
  const starts = watchStarts(page);

  await step('an expired JWT gets a 401, the "sign in again" message, and no anonymous conversation', async () => {
    await page.goto(`${base}/stale-intranet`);
    await page.locator(W('.bubble')).click();
    await page.locator(W('.error'), { hasText: REFUSED }).waitFor();
    await until(() => starts.length === 1, 'the start\'s response');
    assert.deepEqual(starts.map((s) => s.status), [401]);
    assert.equal(starts[0].body.error.code, 'unauthenticated');
    assert.match(starts[0].body.error.message, /expired/);
    assert.ok(await page.locator(W('.input')).isDisabled(), 'nothing can be sent');
    assert.equal(await page.locator(W('.list .msg')).count(), 0);
    assert.equal(await saved(page), null);
  });

  await step('a fresh sign-in (kefu(\'identify\')) starts the employee\'s conversation', async () => {
    const fresh = employeeJwt({ sub: 'emp-3001', name: 'Chen Jie', department: 'Legal' });
    await page.evaluate((jwt) => window.kefu('identify', jwt), fresh);
    await page.locator(W('.msg-bot .text'), { hasText: 'Ask me anything' }).waitFor();
    await until(() => starts.length === 2, 'the second start\'s response');
    await page.locator(W('.error')).waitFor({ state: 'hidden' });
    assert.ok(await page.locator(W('.input')).isEnabled());
    assert.deepEqual(starts.map((s) => s.status), [401, 201]);
    assert.equal((await saved(page)).user, 'emp-3001');
  });
}

async function signInMidConversationScenario() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const page = await newPage(context, 'visitor');
  const starts = watchStarts(page);
  let anonymous;

  await step('a visitor asks on the public page', async () => {
    await page.goto(`${base}/`);
    await page.locator(W('.bubble')).click();
    await ask(page, 'How do I apply for annual leave?');
    await page.locator(W('.msg-bot .text'), { hasText: 'HR portal' }).waitFor();
    anonymous = await saved(page);
    assert.equal(anonymous.user, '');
  });

  await step('a wrongly signed JWT is refused (401) and the visitor\'s conversation goes on', async () => {
    const forged = employeeJwt({ sub: 'emp-2048', name: 'Zhang Wei', department: 'Logistics' }, { secret: 'not-the-desk-secret' });
    await page.evaluate((jwt) => window.kefu('identify', jwt), forged);
    await page.locator(W('.error'), { hasText: REFUSED }).waitFor();
    await until(() => starts.length === 2, 'the refused start\'s response');
    assert.equal(starts.at(-1).status, 401);
    assert.match(starts.at(-1).body.error.message, /signature/);
    assert.equal((await saved(page)).id, anonymous.id);
    assert.ok(await page.locator(W('.input')).isEnabled(), 'the anonymous conversation can go on');
    assert.equal(await page.locator(W('.msg-customer .text'), { hasText: 'How do I apply for annual leave?' }).count(), 1);
  });

  await step('signing in mid-conversation keeps it: linked, the same id, the history in place', async () => {
    const jwt = employeeJwt({ sub: 'emp-2048', name: 'Zhang Wei', department: 'Logistics' });
    await page.evaluate((token) => window.kefu('identify', token), jwt);
    await page.waitForFunction(() => (JSON.parse(localStorage.getItem('kefu.widget.hr') || '{}').user === 'emp-2048'));
    await until(() => starts.length === 3, 'the linking start\'s response');
    const last = starts.at(-1);
    assert.equal(last.status, 200);
    assert.equal(last.sent.customer.link_token, anonymous.token);
    assert.equal(last.body.linked, true);
    assert.equal(last.body.conversation_id, anonymous.id);
    assert.equal((await saved(page)).id, anonymous.id);
    await page.locator(W('.error')).waitFor({ state: 'hidden' });
    assert.equal(await page.locator(W('.msg-customer .text'), { hasText: 'How do I apply for annual leave?' }).count(), 1);
    await ask(page, 'And my payslip?');
  });

  await step('after signing out, the public page starts afresh and does not show the employee\'s conversation', async () => {
    await page.goto(`${base}/`);
    assert.equal(await saved(page), null);
    await page.locator(W('.bubble')).click();
    await page.locator(W('.msg-bot .text'), { hasText: 'Ask me anything' }).waitFor();
    assert.equal(await page.locator(W('.msg-customer')).count(), 0);
    assert.equal((await saved(page)).user, '');
    assert.notEqual((await saved(page)).id, anonymous.id);
  });
}

// A single-page app calls kefu() before widget.js has loaded: the documented stub queues the calls.
async function queuedCommandsScenario() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const jwt = employeeJwt({ sub: 'emp-4096', name: 'Liu Yang', department: 'Design' });
  const csp = "default-src 'none'; script-src 'self'; connect-src 'self'";
  await context.route(`${base}/spa`, (route) => route.fulfill({
    status: 200,
    headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': csp },
    body: '<!doctype html><html lang="en"><body><h1>SPA</h1><script src="/spa.js"></script>' +
      '<script src="/widget.js" data-desk="hr"></script></body></html>',
  }));
  await context.route(`${base}/spa.js`, (route) => route.fulfill({
    status: 200,
    headers: { 'Content-Type': 'text/javascript' },
    body: 'window.kefu = window.kefu || function () { (window.kefu.q = window.kefu.q || []).push(arguments); };\n' +
      `kefu('identify', ${JSON.stringify(jwt)});\nkefu('open');\nkefu('open', 'shop');\n`,
  }));
  const page = await newPage(context, 'spa');
  const starts = watchStarts(page);

  await step('kefu() calls made before widget.js loaded run in order: identified, then opened', async () => {
    await page.goto(`${base}/spa`);
    await page.locator(W('.msg-bot .text'), { hasText: 'Ask me anything' }).waitFor();
    await until(() => starts.length === 1, 'the start\'s response');
    assert.equal(starts[0].status, 201);
    assert.equal(starts[0].sent.customer.jwt, jwt);
    assert.equal((await saved(page)).user, 'emp-4096');
    assert.equal(await page.evaluate(() => typeof window.kefu === 'function' && window.kefu.isWidget), true);
  });

  await step('kefu(\'logout\') forgets the employee\'s conversation here and starts afresh', async () => {
    const employee = await saved(page);
    await page.evaluate(() => window.kefu('logout'));
    await page.waitForFunction((id) => {
      const s = JSON.parse(localStorage.getItem('kefu.widget.hr') || 'null');
      return s && s.id !== id && s.user === '';
    }, employee.id);
    await page.locator(W('.msg-bot .text'), { hasText: 'Ask me anything' }).waitFor();
    assert.equal(await page.locator(W('.list .msg')).count(), 1, 'only the new welcome');
  });
}

await run(async () => {
  await employeeScenario();
  await refusedScenario();
  await queuedCommandsScenario();
  await signInMidConversationScenario();
});
