// Browser tests of kefu's web channel: the chat widget (adapters/web/widget/, served as /widget.js) on the demo pages and
// the agent console (/console), driven by playwright-core in Debian's headless Chromium against a
// `kefu serve` this script starts on a free port with a fresh data directory.
//
//   node tests/browser/web_test.mjs KEFU_BINARY SOURCE_ROOT OUT_DIR
//
// OUT_DIR receives screenshots (and, on a failure, screenshots of every open page). With
// KEFU_UPDATE_SCREENSHOTS=1 the screenshots shown in the README are also written to docs/.
// Exit status 0 when every check passed, 1 otherwise. The setup it shares with the other browser
// tests (kefu serve, Chromium, steps, helpers) is in harness.mjs.
import assert from 'node:assert/strict';

import { setUp } from './harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const ADMIN_TOKEN = 'browser-test-admin-token-0123456789';

const { base, browser, problems, newPage, cspViolations, step, screenshot, api, until, W, ask, consoleLogin, run } =
  await setUp('web_test.mjs', { env: { KEFU_ADMIN_TOKEN: ADMIN_TOKEN } });

// ---- Scenarios ----------------------------------------------------------------------------------

async function desktopScenario() {
  const customerContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const agentContext = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
  const customer = await newPage(customerContext, 'desktop-customer');
  const agent = await newPage(agentContext, 'desktop-agent');
  const widgetRequests = [];
  customer.on('request', (r) => widgetRequests.push(r.url()));

  await step('the demo page carries a CSP without inline scripts, the widget opens with the welcome', async () => {
    const res = await customer.goto(`${base}/`);
    const csp = res.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    await customer.locator(W('.bubble')).click();
    await customer.locator(W('.panel')).waitFor();
    await customer.locator(W('.msg-bot .text'), { hasText: 'Ask me anything' }).waitFor();
  });

  await step('the page\'s own styles do not reach the widget (shadow DOM)', async () => {
    const hostButton = await customer.locator('.search button').evaluate((b) => getComputedStyle(b).textTransform);
    const widgetButton = await customer.locator(W('.send')).evaluate((b) => getComputedStyle(b).textTransform);
    assert.equal(hostButton, 'uppercase');
    assert.equal(widgetButton, 'none');
  });

  await step('a FAQ is answered with its links, quick replies and a "didn\'t help" control', async () => {
    await ask(customer, 'How do I apply for annual leave?');
    const answer = customer.locator(W('.msg-bot'), { hasText: 'HR portal' }).last();
    await answer.waitFor();
    assert.equal(await answer.locator('a[href="https://hr.example.com/leave"]').count(), 1);
    assert.equal(await answer.locator('a').first().getAttribute('rel'), 'noopener noreferrer');
    assert.ok(await answer.locator('.choice').count() >= 1, 'quick replies');
    assert.equal(await answer.locator('.feedback').count(), 1);
  });

  await step('a clarify choice is clickable and answers that entry', async () => {
    // A vague question the HR desk clarifies (`kefu ask --kb kb/samples/hr-en.json "my leave"`).
    await ask(customer, 'my leave');
    const choice = customer.locator(W('.choice.clarify'), { hasText: 'Leave balance and entitlement' }).last();
    await choice.waitFor();
    assert.equal(await choice.getAttribute('data-entry'), 'leave.balance');
    const answers = await customer.locator(W('.msg-customer + .msg-bot .feedback')).count();
    await choice.click();
    await customer.locator(W('.msg-customer .text'), { hasText: 'Leave balance and entitlement' }).waitFor();
    // The answer to the chosen entry follows the customer's click (and is an answer: it has feedback);
    // counted, since the earlier FAQ's answer also follows a customer message (a loaded machine
    // once read the list before the new answer arrived).
    await customer.locator(W('.msg-customer + .msg-bot .feedback')).nth(answers).waitFor();
    const last = customer.locator(W('.list .msg')).last();
    assert.equal(await last.getAttribute('data-kind'), 'bot');
    assert.doesNotMatch(await last.locator('.text').textContent(), /Did you mean/);
  });

  await step('an agent logs in to the console and goes online; the top bar shows their name', async () => {
    const res = await consoleLogin(agent, 'hr', 'li.na', 'demo-li.na-8080');
    assert.match(res.headers()['content-security-policy'], /connect-src 'self'/);
    await agent.locator('#app').waitFor();
    await agent.locator('#live.on').waitFor();
    assert.equal(await agent.locator('#me-name').textContent(), 'Li Na');  // the display name, not li.na
    assert.equal(await agent.locator('html').getAttribute('lang'), 'en');
    await agent.locator('.presence button[data-presence=online]').click();
    await agent.locator('.presence button[data-presence=online][aria-checked=true]').waitFor();
  });

  await step('the customer asks for a person; the conversation arrives live in the console', async () => {
    await customer.locator(W('.person')).click();
    await agent.locator('#mine-list .conv-item').first().waitFor();
    await customer.locator(W('.status'), { hasText: 'Li Na is helping you' }).waitFor();
    assert.ok(await customer.locator(W('.person')).isHidden(), 'no "talk to a person" while served');
  });

  await step('the console shows the history with bot turns marked and the KB\'s suggestions', async () => {
    await agent.locator('#mine-list .conv-item').first().click();
    await agent.locator('#history .h-customer .h-text', { hasText: 'How do I apply for annual leave?' }).waitFor();
    const bot = agent.locator('#history .h-bot').filter({ hasText: 'leave.balance' });
    await bot.first().waitFor();
    assert.equal(await bot.first().locator('.kind').textContent(), 'Bot');
    await agent.locator('#sugg-list .sugg').first().waitFor();
    assert.ok(await agent.locator('#sugg-list .sugg').count() >= 1);
  });

  let suggested = '';
  await step('one click puts a suggested answer in the reply box; the customer sees the reply live', async () => {
    const first = agent.locator('#sugg-list .sugg').first();
    suggested = (await first.locator('.s-answer').textContent()).trim();
    await first.locator('.use').click();
    assert.equal((await agent.locator('#reply').inputValue()).trim(), suggested);
    await agent.locator('#btn-send').click();
    await agent.locator('#history .h-agent .h-text').first().waitFor();
    const reply = customer.locator(W('.msg-agent')).last();
    await reply.waitFor();
    assert.equal((await reply.locator('.text').textContent()).trim(), suggested);
    assert.equal(await reply.locator('.who').textContent(), 'Li Na');
    assert.equal(await agent.locator('#history .h-agent .author').first().textContent(), 'Li Na');
    assert.equal(await agent.locator('#conv-meta .assignee').textContent(), 'with Li Na');
  });

  await step('an internal note is marked internal and never reaches the customer', async () => {
    await agent.locator('#composer input[value=note]').check();
    await agent.locator('#reply').fill('Internal: VIP, check the payroll file');
    await agent.locator('#btn-send').click();
    const note = agent.locator('#history .h-note').last();
    await note.waitFor();
    assert.equal(await note.locator('.kind').textContent(), 'Internal note');
    await agent.locator('#composer input[value=reply]').check();
    await agent.locator('#reply').fill('One more thing: your balance is in the portal.');
    await agent.locator('#btn-send').click();
    await customer.locator(W('.msg-agent .text'), { hasText: 'One more thing' }).waitFor();
    assert.equal(await customer.locator(W('.text'), { hasText: 'VIP' }).count(), 0);
  });

  await step('markup in messages is shown as text in both pages, and no dialog fires', async () => {
    await ask(customer, XSS);
    await agent.locator('#history .h-customer .h-text', { hasText: XSS }).waitFor();
    await agent.locator('#mine-list .c-q', { hasText: XSS }).waitFor();
    await agent.locator('#reply').fill(`You wrote: ${XSS}`);
    await agent.locator('#btn-send').click();
    await customer.locator(W('.msg-agent .text'), { hasText: `You wrote: ${XSS}` }).waitFor();
    assert.equal(await customer.locator(W('.msg-customer .text'), { hasText: XSS }).last().textContent(), XSS);
    await customer.waitForTimeout(300);  // an injected onerror would have fired by now
    for (const page of [customer, agent]) {
      assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');
      assert.equal(await page.locator('kefu-widget img').count(), 0);
    }
    assert.deepEqual(problems.filter((p) => /dialog/.test(p)), []);
  });

  await step('screenshots: the widget on a desktop and the console', async () => {
    await agent.locator('#toasts .toast').first().waitFor({ state: 'detached', timeout: 10000 });
    await screenshot(customer, 'widget-desktop.png');
    await screenshot(agent, 'console.png');
  });

  await step('away, the agent transfers to a team: the customer waits in the queue, live', async () => {
    await agent.locator('.presence button[data-presence=away]').click();
    await agent.locator('.presence button[data-presence=away][aria-checked=true]').waitFor();
    await agent.locator('#btn-transfer').click();
    await agent.locator('#transfer-form select[name=kind]').selectOption('team');
    await agent.locator('#transfer-form input[name=target]').fill('hr');
    await agent.locator('#transfer-form button[type=submit]').click();
    const waiting = agent.locator('#queue-list .conv-item');
    await waiting.first().waitFor();
    assert.match(await waiting.first().locator('.tag.wait').textContent(), /^\d+:\d\d$/);
    assert.equal(await waiting.first().locator('.c-q').textContent(), XSS);
    await customer.locator(W('.queue-position'), { hasText: 'number 1 in the queue' }).waitFor();
    await customer.locator(W('.queue-wait'), { hasText: 'No one is online right now' }).waitFor();
    assert.ok(await customer.locator(W('.person')).isHidden());
  });

  await step('a claim of a conversation another agent took first says who took it, by name', async () => {
    // Sam, away, takes a new waiting conversation just before Li Na's claim reaches kefu.
    const sam = (await api('POST', '/v1/agent/login', { desk: 'hr', username: 'sam', password: 'demo-sam-8080' })).token;
    await api('PUT', '/v1/agent/presence', { status: 'away' }, sam);
    const other = await api('POST', '/v1/desks/hr/conversations', { channel: 'web', locale: 'en' });
    await api('POST', `/v1/conversations/${other.conversation_id}/messages`, { text: 'Who do I ask about my pension?' }, other.customer_token);
    await api('POST', `/v1/conversations/${other.conversation_id}/handoff`, {}, other.customer_token);
    const item = agent.locator(`#queue-list .conv-item[data-id="${other.conversation_id}"]`);
    await item.waitFor();
    await agent.route('**/claim', async (route) => {
      await api('POST', `/v1/agent/conversations/${other.conversation_id}/claim`, {}, sam);
      await route.continue();
    });
    await item.locator('.claim').click();
    await agent.locator('#toasts .toast', { hasText: 'Not claimed: Sam has already taken this conversation.' }).waitFor();
    await agent.unroute('**/claim');
    await item.waitFor({ state: 'detached' });
    assert.equal(await agent.locator('#queue-list .conv-item').count(), 1);
    await api('POST', `/v1/agent/conversations/${other.conversation_id}/resolve`, {}, sam);
    await api('PUT', '/v1/agent/presence', { status: 'offline' }, sam);
  });

  await step('toasts never cover the suggestions\' header, wide or narrow', async () => {
    const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    for (const [width, height] of [[1280, 800], [1024, 768], [800, 900]]) {
      await agent.setViewportSize({ width, height });
      await agent.evaluate(() => {
        for (let i = 0; i < 3; i++) window.kefuConsole.toast('A toast long enough to wrap onto a second line, or even a third one');
      });
      const title = await agent.locator('#sugg-title').boundingBox();
      assert.ok(title, 'the suggestions are shown');
      for (const toast of await agent.locator('#toasts .toast').all()) {
        const box = await toast.boundingBox();
        assert.ok(!overlap(box, title), `at ${width}×${height} a toast at ${JSON.stringify(box)} covers the header at ${JSON.stringify(title)}`);
      }
      await agent.evaluate(() => document.getElementById('toasts').replaceChildren());
    }
    await agent.setViewportSize({ width: 1440, height: 900 });
  });

  await step('the agent claims the conversation from the queue', async () => {
    await agent.locator('#queue-list .conv-item .claim').first().click();
    await agent.locator('#queue-list .conv-item').first().waitFor({ state: 'detached' });
    await agent.locator('#mine-list .conv-item').first().waitFor();
    await agent.locator('#conv-meta .state-agent').waitFor();
    await customer.locator(W('.status'), { hasText: 'Li Na is helping you' }).waitFor();
    await customer.locator(W('.banner')).waitFor({ state: 'hidden' });
    await agent.locator('.presence button[data-presence=online]').click();
  });

  await step('the agent resolves; the customer is asked to rate and rates 5', async () => {
    await agent.locator('#btn-resolve').click();
    await agent.locator('#conv-meta .state-resolved').waitFor();
    await customer.locator(W('.rate')).waitFor();
    await customer.locator(W('.status'), { hasText: 'resolved' }).waitFor();
    await customer.locator(W('.star[data-rating="5"]')).click();
    await customer.locator(W('.rate-label'), { hasText: 'Thank you' }).waitFor();
    await customer.locator(W('.rate')).waitFor({ state: 'hidden', timeout: 10000 });
  });

  await step('a reload keeps the conversation (same id, full history, panel open)', async () => {
    const before = await customer.evaluate(() => JSON.parse(localStorage.getItem('kefu.widget.hr')).id);
    await customer.reload();
    await customer.locator(W('.panel')).waitFor();
    await customer.locator(W('.msg-customer .text'), { hasText: 'How do I apply for annual leave?' }).waitFor();
    await customer.locator(W('.msg-agent .text'), { hasText: 'One more thing' }).waitFor();
    assert.equal(await customer.locator(W('.msg-customer .text'), { hasText: XSS }).count(), 1);
    const after = await customer.evaluate(() => JSON.parse(localStorage.getItem('kefu.widget.hr')).id);
    assert.equal(after, before);
    assert.ok(await customer.locator(W('.rate')).isHidden(), 'a rated conversation does not ask again');
  });

  await step('live updates used the SSE stream (fetch with Authorization), not polling', async () => {
    assert.ok(widgetRequests.some((u) => /\/v1\/conversations\/[^/]+\/events/.test(u)));
    assert.ok(!widgetRequests.some((u) => /\/poll\?/.test(u)));
  });

  await step('the dashboard draws the desk\'s figures as inline SVG', async () => {
    await agent.locator('#tab-dash').click();
    await agent.locator('#dash-cards .card').first().waitFor();
    const conversations = Number(await agent.locator('#dash-cards .card').first().locator('.v').textContent());
    assert.ok(conversations >= 1, `conversations ${conversations}`);
    await agent.locator('#dash-cards .card', { hasText: 'CSAT' }).locator('.v', { hasText: '5.0 / 5' }).waitFor();
    assert.ok(await agent.locator('#dash-charts svg').count() >= 4);
    await agent.locator('#dash-charts svg rect').first().waitFor();
    await agent.locator('#toasts .toast').first().waitFor({ state: 'detached', timeout: 10000 });
    await screenshot(agent, 'console-dashboard.png');
    await agent.locator('#tab-work').click();
  });

  await step('no CSP violation on either page', async () => {
    assert.deepEqual(await cspViolations(customer), []);
    assert.deepEqual(await cspViolations(agent), []);
  });

  await customerContext.close();
  await agentContext.close();
}

// The shop desk on a phone: the queue position and expected wait while queued, the long-poll fallback
// when the SSE route cannot be reached, the unread badge, and the agent's reply.
async function phoneScenario() {
  const phone = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'en-US' };
  const context = await browser.newContext(phone);
  const customer = await newPage(context, 'phone-customer');
  let polls = 0;
  await customer.route('**/v1/conversations/*/events', (route) => route.abort('connectionrefused'));
  customer.on('request', (r) => { if (/\/poll\?/.test(r.url())) polls++; });

  // An agent with room for one conversation, busy with another customer.
  await api('POST', '/v1/admin/desks/shop/agents', { username: 'kim', password: 'kim-password-1', name: 'Kim', capacity: 1 }, ADMIN_TOKEN);
  const kim = (await api('POST', '/v1/agent/login', { desk: 'shop', username: 'kim', password: 'kim-password-1' })).token;
  await api('PUT', '/v1/agent/presence', { status: 'online' }, kim);
  const other = await api('POST', '/v1/desks/shop/conversations', { channel: 'web', locale: 'en' });
  await api('POST', `/v1/conversations/${other.conversation_id}/handoff`, {}, other.customer_token);

  await step('phone: the panel fills the 360 px screen', async () => {
    await customer.goto(`${base}/shop`);
    await customer.locator(W('.bubble')).tap();
    await customer.locator(W('.msg-bot')).first().waitFor();
    const box = await customer.locator(W('.panel')).boundingBox();
    assert.equal(Math.round(box.width), 360);
    assert.equal(Math.round(box.x), 0);
    assert.ok(await customer.locator(W('.bubble')).isHidden(), 'the bubble hides behind the full-screen panel');
  });

  await step('phone: "this didn\'t help" hands over; the queue position and expected wait show', async () => {
    await ask(customer, 'How do I place an order?');
    const feedback = customer.locator(W('.msg-bot .feedback')).last();
    await feedback.waitFor();
    await feedback.tap();
    await customer.locator(W('.queue-position'), { hasText: 'number 1 in the queue' }).waitFor();
    await customer.locator(W('.queue-wait'), { hasText: /Expected wait: about \d+ minutes/ }).waitFor();
    await customer.locator(W('.status'), { hasText: 'Waiting for a person' }).waitFor();
    await customer.locator(W('.conn')).waitFor({ state: 'hidden' });  // the fallback works: no "Reconnecting"
    const ticket = customer.locator(W('.msg-system .ticket')).last();  // on one line, never "SHOP-" and "1001" below
    assert.match(await ticket.textContent(), /^SHOP-\d+$/);
    assert.equal(await ticket.evaluate((e) => e.getClientRects().length), 1);
    await screenshot(customer, 'widget-phone.png');
  });

  await step('phone: while queued, a FAQ gets the bot\'s answer and the place in line is kept', async () => {
    const answers = await customer.locator(W('.msg-bot')).count();
    await ask(customer, 'How long does delivery take?');
    await customer.locator(W('.msg-bot')).nth(answers).waitFor();
    await customer.locator(W('.queue-position'), { hasText: 'number 1 in the queue' }).waitFor();
    await customer.locator(W('.status'), { hasText: 'Waiting for a person' }).waitFor();
  });

  await step('phone: "never mind" leaves the line, back to the assistant; asking again queues again', async () => {
    await customer.locator(W('.leave')).tap();
    await customer.locator(W('.msg-system .text'), { hasText: 'You left the line' }).waitFor();
    await customer.locator(W('.status'), { hasText: 'Our assistant answers right away' }).waitFor();
    assert.ok(await customer.locator(W('.queue-position')).count() === 0 || await customer.locator(W('.queue-position')).isHidden());
    await customer.locator(W('.person')).tap();
    await customer.locator(W('.queue-position'), { hasText: 'number 1 in the queue' }).waitFor();
  });

  await step('phone: with the SSE route unreachable, live replies arrive by long polls', async () => {
    const mine = (await api('GET', '/v1/agent/conversations', undefined, kim)).conversations;
    await api('POST', `/v1/agent/conversations/${mine[0].conversation_id}/resolve`, {}, kim);
    await customer.locator(W('.status'), { hasText: 'Kim is helping you' }).waitFor({ timeout: 20000 });
    const served = (await api('GET', '/v1/agent/conversations', undefined, kim)).conversations;
    assert.equal(served.length, 1);
    await customer.locator(W('.close')).tap();
    await api('POST', `/v1/agent/conversations/${served[0].conversation_id}/reply`, { text: `Hi, Kim here. ${XSS}` }, kim);
    await customer.locator(W('.badge'), { hasText: '1' }).waitFor({ timeout: 40000 });
    await customer.locator(W('.bubble')).tap();
    await customer.locator(W('.msg-agent .text'), { hasText: `Hi, Kim here. ${XSS}` }).waitFor();
    assert.equal(await customer.locator(W('.msg-agent .who')).last().textContent(), 'Kim');
    assert.ok(polls > 0, 'the widget fell back to the long-poll route');
    assert.equal(await customer.locator('img').count(), 0);
  });

  await step('console: a new customer message shows as unread until the agent opens it', async () => {
    const consoleContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const agent = await newPage(consoleContext, 'console-kim');
    await consoleLogin(agent, 'shop', 'kim', 'kim-password-1');
    await agent.locator('#live.on').waitFor();
    const item = agent.locator('#mine-list .conv-item').first();
    await item.waitFor();
    const unread = async () => ((await item.locator('.unread').count()) ? Number(await item.locator('.unread').textContent()) : 0);
    const before = await unread();
    await ask(customer, 'Thanks Kim!');
    await agent.waitForFunction((n) => {
      const badge = document.querySelector('#mine-list .conv-item .unread');
      return badge && Number(badge.textContent) > n;
    }, before);
    await item.click();
    await agent.locator('#history .h-customer .h-text', { hasText: 'Thanks Kim!' }).waitFor();
    await agent.locator('#mine-list .conv-item .unread').waitFor({ state: 'detached' });
    assert.deepEqual(await cspViolations(agent), []);
    await consoleContext.close();
  });

  await step('phone: no CSP violation', async () => {
    assert.deepEqual(await cspViolations(customer), []);
  });
  await context.close();
}

// The Chinese page: the widget's UI follows <html lang="zh-CN">; the welcome and answer are Chinese.
async function chineseScenario() {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' });
  const customer = await newPage(context, 'phone-zh');
  await step('zh: the UI text follows the page\'s lang and the bot answers in Chinese', async () => {
    await customer.goto(`${base}/zh`);
    await customer.locator(W('.bubble')).tap();
    await customer.locator(W('.msg-bot')).first().waitFor();
    assert.equal(await customer.locator(W('textarea')).getAttribute('placeholder'), '请输入您的问题…');
    assert.equal(await customer.locator(W('.person')).textContent(), '转人工');
    await ask(customer, '我想请年假怎么申请');
    await customer.locator(W('.msg-bot .feedback'), { hasText: '没有帮助' }).last().waitFor();
    await screenshot(customer, 'widget-phone-zh.png');
  });

  await step('zh: a send whose answer is lost is retried with the same client_msg_id and shown once', async () => {
    const ids = [];
    let dropped = false;
    await customer.route('**/v1/conversations/*/messages', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      ids.push(JSON.parse(route.request().postData()).client_msg_id);
      if (dropped) return route.continue();
      dropped = true;
      await route.fetch();  // kefu accepts the message ...
      await route.abort('connectionreset');  // ... but its answer never reaches the page
    });
    await ask(customer, '工资条在哪里看');
    await customer.locator(W('.list .msg-customer .text'), { hasText: '工资条在哪里看' }).waitFor();
    await customer.locator(W('.pending .msg')).waitFor({ state: 'detached' });
    await until(() => ids.length >= 2, 'the retry');
    await customer.waitForTimeout(300);
    assert.equal(ids.length, 2);
    assert.equal(ids[0], ids[1]);
    assert.equal(await customer.locator(W('.msg-customer .text'), { hasText: '工资条在哪里看' }).count(), 1);
    await customer.unroute('**/v1/conversations/*/messages');
    assert.deepEqual(await cspViolations(customer), []);
  });

  // Nobody of the HR desk is online: the customer waits in line, in Chinese, and is not left alone.
  await step('zh: queued, the banner says the place in line; a FAQ is answered while waiting', async () => {
    const li = (await api('POST', '/v1/agent/login', { desk: 'hr', username: 'li.na', password: 'demo-li.na-8080' })).token;
    await api('PUT', '/v1/agent/presence', { status: 'offline' }, li);
    await customer.locator(W('.person')).tap();
    await customer.locator(W('.queue-position'), { hasText: /^您正在排队，您是第 1 位$/ }).waitFor();
    await customer.locator(W('.queue-wait'), { hasText: '现在没有客服在线' }).waitFor();
    await customer.locator(W('.status'), { hasText: '正在等待人工客服' }).waitFor();
    const ticket = customer.locator(W('.msg-system .ticket')).last();
    assert.match(await ticket.textContent(), /^HR-\d+$/);
    assert.equal(await ticket.evaluate((e) => e.getClientRects().length), 1);
    const answers = await customer.locator(W('.msg-bot')).count();
    await ask(customer, '什么时候发工资');
    await customer.locator(W('.msg-bot')).nth(answers).waitFor();
    assert.match(await customer.locator(W('.msg-bot .text')).nth(answers).textContent(), /[\u4e00-\u9fff]/);
    await customer.locator(W('.queue-position'), { hasText: '您是第 1 位' }).waitFor();
    await screenshot(customer, 'widget-phone-zh-queued.png');
  });

  await step('zh: "不用了，退出排队" leaves the line, back to the assistant', async () => {
    await customer.locator(W('.leave'), { hasText: '不用了，退出排队' }).tap();
    await customer.locator(W('.msg-system .text'), { hasText: '您已退出排队' }).waitFor();
    await customer.locator(W('.status'), { hasText: '智能助手即时回答' }).waitFor();
    assert.ok(await customer.locator(W('.queue-position')).count() === 0 || await customer.locator(W('.queue-position')).isHidden());
    assert.deepEqual(await cspViolations(customer), []);
  });
  await context.close();
}

// ---- Run ------------------------------------------------------------------------------------------

await run(async () => {
  await desktopScenario();
  await phoneScenario();
  await chineseScenario();
});
