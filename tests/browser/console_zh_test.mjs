// Browser test of the agent console in Chinese (/console, console_i18n.js): the language switch on
// the login card, the login card and the top bar in Chinese, a conversation claimed and served, the
// causes of a failed claim said in Chinese, the dashboard's cards and charts in Chinese, the choice
// kept over a reload, a browser whose language is Chinese getting Chinese by default, and a switch
// back to English that keeps the open conversation. Driven by playwright-core in Debian's headless
// Chromium against a `kefu serve` on a free port with a fresh data directory (harness.mjs).
//
//   node tests/browser/console_zh_test.mjs KEFU_BINARY SOURCE_ROOT OUT_DIR
//
// OUT_DIR receives console-zh.png (and, on a failure, screenshots of every open page); with
// KEFU_UPDATE_SCREENSHOTS=1 it is also written to docs/.
import assert from 'node:assert/strict';

import { setUp } from './harness.mjs';

const { base, browser, newPage, cspViolations, step, screenshot, api, consoleLogin, run } = await setUp('console_zh_test.mjs');

// A customer of the HR desk asks `question` in Chinese, then asks for a person: the conversation waits
// in the queue (nobody online). Returns its id.
async function queuedCustomer(question) {
  const c = await api('POST', '/v1/desks/hr/conversations', { channel: 'web', locale: 'zh' });
  await api('POST', `/v1/conversations/${c.conversation_id}/messages`, { text: question }, c.customer_token);
  const handed = await api('POST', `/v1/conversations/${c.conversation_id}/handoff`, {}, c.customer_token);
  assert.equal(handed.conversation.state, 'queued');
  return c.conversation_id;
}

const texts = (locator) => locator.allTextContents();

async function consoleInChinese() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const agent = await newPage(context, 'console-zh');
  const liNa = (await api('POST', '/v1/agent/login', { desk: 'hr', username: 'li.na', password: 'demo-li.na-8080' })).token;

  await step('zh: an English browser gets the English login card; 中文 switches it to Chinese', async () => {
    await agent.goto(`${base}/console`);
    await agent.locator('#login-form').waitFor();
    assert.equal(await agent.locator('html').getAttribute('lang'), 'en');
    assert.equal(await agent.locator('#login-form button[type=submit]').textContent(), 'Log in');
    await agent.locator('#login-form .lang-switch button[data-lang=zh]').click();
    assert.equal(await agent.locator('html').getAttribute('lang'), 'zh-CN');
    assert.equal(await agent.title(), 'kefu · 客服工作台');
    assert.equal(await agent.locator('#login-form h1 small').textContent(), '客服工作台');
    assert.deepEqual(await texts(agent.locator('#login-form label > span')), ['服务台', '用户名', '密码']);
    assert.equal(await agent.locator('#login-form button[type=submit]').textContent(), '登录');
    assert.equal(await agent.locator('#login-form .lang-switch button[aria-checked=true]').textContent(), '中文');
  });

  await step('zh: a wrong password is refused in Chinese', async () => {
    await consoleLogin(agent, 'hr', 'sam', 'not-the-password');
    await agent.locator('#login-error', { hasText: '服务台、用户名或密码不正确。' }).waitFor();
  });

  await step('zh: logged in, the top bar is in Chinese and shows the display name', async () => {
    await consoleLogin(agent, 'hr', 'sam', 'demo-sam-8080');
    await agent.locator('#app').waitFor();
    await agent.locator('#live.on', { hasText: '实时' }).waitFor();
    assert.equal(await agent.locator('#me-name').textContent(), 'Sam');
    assert.deepEqual(await texts(agent.locator('.presence button')), ['在线', '离开', '离线']);
    assert.deepEqual(await texts(agent.locator('.tabs button')), ['会话', '数据看板', '知识库']);
    assert.equal(await agent.locator('#logout').textContent(), '退出登录');
    assert.deepEqual(await texts(agent.locator('.side-section h2 > span:first-child')), ['排队中', '我的会话']);
    assert.equal(await agent.locator('#mine-empty').textContent(), '切换为“在线”后才会给您分配会话。');
    assert.equal(await agent.locator('#conv-empty').textContent(), '请从“排队中”或“我的会话”里选择一个会话。');
  });

  let first = '';
  await step('zh: offline, a claim says so in Chinese', async () => {
    first = await queuedCustomer('我想请年假怎么申请');
    const item = agent.locator(`#queue-list .conv-item[data-id="${first}"]`);
    await item.waitFor();
    assert.equal(await item.locator('.claim').textContent(), '接入');
    await item.locator('.claim').click();
    await agent.locator('#toasts .toast', { hasText: '未能接入：您当前是离线状态，请先切换为“在线”或“离开”。' }).waitFor();
  });

  await step('zh: away, the agent claims the conversation and replies; history and tags in Chinese', async () => {
    await agent.locator('.presence button[data-presence=away]').click();
    await agent.locator('.presence button[data-presence=away][aria-checked=true]').waitFor();
    await agent.locator(`#queue-list .conv-item[data-id="${first}"] .claim`).click();
    await agent.locator('#conv-meta .state-agent', { hasText: '人工服务中' }).waitFor();
    await agent.locator('#conv-meta .assignee', { hasText: '接待人：Sam' }).waitFor();
    await agent.locator('#history .h-customer .h-text', { hasText: '我想请年假怎么申请' }).waitFor();
    assert.equal(await agent.locator('#history .h-bot .kind').first().textContent(), '机器人');
    assert.equal(await agent.locator('#sugg-title').textContent(), '推荐答案');
    assert.deepEqual(await texts(agent.locator('.conv-actions button:not([hidden])')), ['转接', '标记已解决']);
    assert.equal(await agent.locator('#reply').getAttribute('placeholder'), '输入回复…');
    await agent.locator('#reply').fill('您好，年假在 HR 系统里申请：请假 → 新建申请。');
    await agent.locator('#btn-send').click();
    await agent.locator('#history .h-agent .author', { hasText: 'Sam' }).waitFor();
    await agent.locator('#composer input[value=note]').check();
    assert.equal(await agent.locator('#btn-send').textContent(), '添加备注');
    await agent.locator('#reply').fill('已告知申请路径');
    await agent.locator('#btn-send').click();
    assert.equal(await agent.locator('#history .h-note .kind').textContent(), '内部备注');
    await agent.locator('#composer input[value=reply]').check();
  });

  await step('zh: a claim of a conversation another agent took first names them in Chinese', async () => {
    const second = await queuedCustomer('工资条在哪里看');
    const item = agent.locator(`#queue-list .conv-item[data-id="${second}"]`);
    await item.waitFor();
    await api('PUT', '/v1/agent/presence', { status: 'away' }, liNa);
    await agent.route('**/claim', async (route) => {
      await api('POST', `/v1/agent/conversations/${second}/claim`, {}, liNa);
      await route.continue();
    });
    await item.locator('.claim').click();
    await agent.locator('#toasts .toast', { hasText: '未能接入：Li Na 已经接入了这个会话。' }).waitFor();
    await agent.unroute('**/claim');
    await api('POST', `/v1/agent/conversations/${second}/resolve`, {}, liNa);
    await api('PUT', '/v1/agent/presence', { status: 'offline' }, liNa);
  });

  await step('zh: a transfer to an agent is typed by name, sent by username, refused in Chinese when they are offline', async () => {
    await agent.locator('#btn-transfer').click();
    await agent.locator('#transfer-form select[name=kind]').selectOption('agent');
    assert.equal(await agent.locator('#transfer-form input[name=target]').getAttribute('placeholder'), '在线客服的姓名');
    await agent.locator('#transfer-form input[name=target]').fill('Li Na');
    const sent = agent.waitForRequest((r) => r.url().endsWith('/transfer'));
    await agent.locator('#transfer-form button[type=submit]').click();
    assert.deepEqual(JSON.parse((await sent).postData()), { to_agent: 'li.na' });
    await agent.locator('#toasts .toast', { hasText: '未能转接：Li Na 当前不在线。' }).waitFor();
    await agent.locator('#transfer-cancel').click();
  });

  await step('zh: screenshot of the console in Chinese', async () => {
    await agent.locator(`#mine-list .conv-item[data-id="${first}"]`).click();
    await agent.locator('#history .h-note').waitFor();
    await agent.locator('#toasts .toast').first().waitFor({ state: 'detached', timeout: 10000 });
    await screenshot(agent, 'console-zh.png');
  });

  await step('zh: the choice survives a reload', async () => {
    await agent.reload();
    await agent.locator('#app').waitFor();
    assert.equal(await agent.locator('html').getAttribute('lang'), 'zh-CN');
    assert.equal(await agent.locator('#tab-dash').textContent(), '数据看板');
    assert.equal(await agent.locator('.topbar .lang-switch button[aria-checked=true]').textContent(), '中文');
    await agent.locator(`#mine-list .conv-item[data-id="${first}"]`).click();
    await agent.locator('#history .h-note .kind', { hasText: '内部备注' }).waitFor();
  });

  await step('zh: resolved, the dashboard\'s cards and charts are in Chinese, "still open" apart', async () => {
    await agent.locator('#btn-resolve').click();
    await agent.locator('#conv-meta .state-resolved', { hasText: '已解决' }).waitFor();
    await agent.locator('#tab-dash').click();
    await agent.locator('#dash-cards .card').first().waitFor();
    assert.equal(await agent.locator('#dashboard h2').textContent(), '服务台数据看板');
    assert.deepEqual(await texts(agent.locator('#dash-cards .card .k')), ['会话总数', '机器人解决率', '当前排队', '排队等待', '首次响应', '满意度']);
    const bot = agent.locator('#dash-cards .card[data-card=bot_resolution] .s');
    assert.match(await bot.nth(0).textContent(), /^已解决 \d+ 个，其中机器人解决 \d+ 个$/);
    assert.match(await bot.nth(1).textContent(), /^仍在与机器人对话 \d+ 个$/);
    assert.deepEqual(await texts(agent.locator('#dash-charts .chart h3')),
      ['会话由谁解决', '当前排队等待（分:秒）', '响应时间', '机器人未能回答的问题', '回答最多的条目', '满意度与反馈']);
    const legend = await texts(agent.locator('#dash-charts .chart[data-chart=who_resolved] text.legend'));
    assert.deepEqual(legend.map((x) => x.replace(/\d+$/, 'N')), ['机器人：N', '人工：N']);
    assert.ok((await texts(agent.locator('#dash-charts .chart[data-chart=response_times] text > title'))).includes('首次响应 中位数'));
    assert.equal(await agent.locator('#gaps-title > span:first-child').textContent(), '知识盲区');
  });

  await step('zh: English again without a reload: the tab and the open conversation stay', async () => {
    await agent.locator('.topbar .lang-switch button[data-lang=en]').click();
    assert.equal(await agent.locator('html').getAttribute('lang'), 'en');
    assert.equal(await agent.locator('#dashboard h2').textContent(), 'Desk dashboard');
    assert.equal(await agent.locator('#dash-charts .chart[data-chart=unanswered] h3').textContent(), 'Questions the bot could not answer');
    assert.ok(await agent.locator('#dashboard').isVisible());
    await agent.locator('#tab-work').click();
    assert.equal(await agent.locator('#history .h-note .kind').textContent(), 'Internal note');
    assert.equal(await agent.locator('#conv-meta .state-resolved').textContent(), 'resolved');
    await agent.locator('#history .h-customer .h-text', { hasText: '我想请年假怎么申请' }).waitFor();
    assert.deepEqual(await cspViolations(agent), []);
  });
  await context.close();
}

async function chineseBrowser() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await newPage(context, 'console-zh-default');
  await step('zh: a browser whose language is Chinese gets the console in Chinese until the agent chooses', async () => {
    await page.goto(`${base}/console`);
    await page.locator('#login-form button[type=submit]', { hasText: '登录' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
    await page.locator('#login-form .lang-switch button[data-lang=en]').click();
    await page.reload();
    await page.locator('#login-form button[type=submit]', { hasText: 'Log in' }).waitFor();
    assert.deepEqual(await cspViolations(page), []);
  });
  await context.close();
}

await run(async () => {
  await consoleInChinese();
  await chineseBrowser();
});
