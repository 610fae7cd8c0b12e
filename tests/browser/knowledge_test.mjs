// Browser test of the knowledge loop in the agent console (/console): a question the demo KB cannot
// answer reaches an agent, whose reply becomes a KB draft; the admin reviews and publishes it in the
// Knowledge tab, and the bot answers the next customer by itself; versions and rollback, of a
// publish and of a KB uploaded with PUT; the dashboard's knowledge gaps; labelled questions from
// sent suggestions and a publish the regression check refuses. Driven by playwright-core in
// Debian's headless Chromium against a `kefu serve` on a free port with a fresh data directory
// (harness.mjs).
//
//   node tests/browser/knowledge_test.mjs KEFU_BINARY SOURCE_ROOT OUT_DIR
//
// OUT_DIR receives screenshots of the gaps panel and the Knowledge tab (and, on a failure, of every
// open page); with KEFU_UPDATE_SCREENSHOTS=1 they are also written to docs/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { setUp } from './harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const PARKING = 'How do I get a parking permit for the office car park?';
const PARKING_ANSWER = 'Parking permits are issued by Facilities: fill in the form at the reception desk and collect your permit the next working day.';
// Answered by leave.annual.apply, but not one of its examples.
const LEAVE = "I'd like some days off in August, how do I ask for them?";

// No KEFU_ADMIN_TOKEN: kefu writes a fresh token to DATA_DIR/admin_token, which the admin pastes.
const { base, dataDir, outDir, browser, problems, newPage, cspViolations, step, screenshot, api, W, ask, consoleLogin, run } =
  await setUp('knowledge_test.mjs', { env: { KEFU_ADMIN_TOKEN: undefined } });

// A customer on the English HR page opens the widget and asks `question`.
async function customerAsks(context, name, question) {
  const page = await newPage(context, name);
  await page.goto(`${base}/`);
  await page.locator(W('.bubble')).click();
  await page.locator(W('.msg-bot .text'), { hasText: 'Ask me anything' }).waitFor();
  await ask(page, question);
  return page;
}

// What the bot does with `question` in a new conversation, over the API: {answered (an entry id or
// null), state (of the conversation)}.
async function botDecision(question) {
  const c = await api('POST', '/v1/desks/hr/conversations', { channel: 'web', locale: 'en' });
  const sent = await api('POST', `/v1/conversations/${c.conversation_id}/messages`, { text: question }, c.customer_token);
  const answer = sent.messages.find((m) => m.kind === 'bot' && m.entry_id);
  return { answered: answer ? answer.entry_id : null, state: sent.conversation.state };
}

async function knowledgeScenario() {
  const customerContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const agentContext = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
  const agent = await newPage(agentContext, 'agent');
  let customer;

  await step('an agent logs in to the console and is away (serves by claiming)', async () => {
    await consoleLogin(agent, 'hr', 'li.na', 'demo-li.na-8080');
    await agent.locator('#live.on').waitFor();
    await agent.locator('.presence button[data-presence=away]').click();
    await agent.locator('.presence button[data-presence=away][aria-checked=true]').waitFor();
  });

  await step('a customer asks what the KB cannot answer: the bot hands over to a person', async () => {
    customer = await customerAsks(customerContext, 'customer', PARKING);
    await customer.locator(W('.status'), { hasText: 'Waiting for a person' }).waitFor();
    await customer.locator(W('.queue-position'), { hasText: 'number 1 in the queue' }).waitFor();
    assert.ok(await customer.locator(W('.person')).isHidden(), 'queued already: no "talk to a person"');
  });

  await step('the dashboard lists the question under "Knowledge gaps"', async () => {
    await agent.locator('#tab-dash').click();
    const gap = agent.locator('#gaps-list .gap', { hasText: PARKING });
    await gap.waitFor();
    assert.equal(await gap.locator('.g-examples li').first().textContent(), PARKING);
    assert.equal(await gap.locator('.g-customers').textContent(), '1 customer');
    assert.match(await gap.locator('.g-nearest').textContent(), /^closest entry in the KB: \S+?(en)?$|^no similar entry/);
    await screenshot(agent, 'console-gaps.png');
    await agent.locator('#tab-work').click();
  });

  await step('the agent claims the conversation and replies', async () => {
    await agent.locator('#queue-list .conv-item', { hasText: PARKING }).locator('.claim').click();
    await agent.locator('#conv-meta .state-agent').waitFor();
    await agent.locator('#reply').fill(PARKING_ANSWER);
    await agent.locator('#btn-send').click();
    await customer.locator(W('.msg-agent .text'), { hasText: PARKING_ANSWER }).waitFor();
  });

  await step('"Save as KB draft" turns the question and the reply into a draft, with its title', async () => {
    await agent.locator('#draft-title').fill('Parking permits');
    await agent.locator('#btn-draft').click();
    await agent.locator('#teach-note', { hasText: 'Saved as a KB draft: “Parking permits”' }).waitFor();
    assert.equal(await agent.locator('#draft-title').inputValue(), '');
    // A second draft whose title is markup: it must stay text everywhere.
    await agent.locator('#draft-title').fill(XSS);
    await agent.locator('#btn-draft').click();
    await agent.locator('#teach-note', { hasText: `Saved as a KB draft: “${XSS}”` }).waitFor();
  });

  let second = '';
  await step('a suggested answer sent unchanged labels the question; "Add question to an entry" makes a draft', async () => {
    await ask(customer, LEAVE);
    await agent.locator('#sugg-question', { hasText: LEAVE }).waitFor();
    const first = agent.locator('#sugg-list .sugg').first();
    assert.equal(await first.getAttribute('data-entry'), 'leave.annual.apply');
    second = await agent.locator('#sugg-list .sugg').nth(1).getAttribute('data-entry');
    const labelled = agent.waitForRequest((r) => r.url().endsWith('/labelled') && r.method() === 'POST');
    await first.locator('.use').click();
    await agent.locator('#btn-send').click();
    assert.deepEqual(JSON.parse((await labelled).postData()), { entry_id: 'leave.annual.apply', question: LEAVE });
    await agent.locator('#teach-note', { hasText: 'Recorded: leave.annual.apply answers' }).waitFor();
    // The entries offered are the suggestions; the question becomes an example of the second one.
    assert.equal(await agent.locator('#example-entry option').count(), await agent.locator('#sugg-list .sugg').count());
    await agent.locator('#example-entry').selectOption(second);
    await agent.locator('#btn-example').click();
    await agent.locator('#teach-note', { hasText: `as a new question of ${second}` }).waitFor();
  });

  await step('an edited suggestion is not recorded as labelled', async () => {
    let posted = 0;
    const count = (r) => { if (r.url().endsWith('/labelled')) posted++; };
    agent.on('request', count);
    await agent.locator('#sugg-list .sugg').first().locator('.use').click();
    await agent.locator('#reply').fill(`${await agent.locator('#reply').inputValue()} Have a good holiday!`);
    await agent.locator('#btn-send').click();
    await customer.locator(W('.msg-agent .text'), { hasText: 'Have a good holiday!' }).waitFor();
    await agent.waitForTimeout(300);
    agent.off('request', count);
    assert.equal(posted, 0);
  });

  await step('the Knowledge tab asks for the admin token and refuses a wrong one', async () => {
    await agent.locator('#tab-kb').click();
    await agent.locator('#admin-form input[name=token]').fill('not-the-admin-token');
    await agent.locator('#admin-form button[type=submit]').click();
    await agent.locator('#admin-error', { hasText: 'not accepted' }).waitFor();
    assert.equal(await agent.evaluate(() => sessionStorage.getItem('kefu.console.admin')), null);
  });

  await step('with the admin token, the open drafts are listed; markup in a draft shows as text', async () => {
    const token = fs.readFileSync(path.join(dataDir, 'admin_token'), 'utf8').trim();
    await agent.locator('#admin-form input[name=token]').fill(token);
    await agent.locator('#admin-form button[type=submit]').click();
    await agent.locator('#drafts-list .draft').nth(2).waitFor();
    assert.equal(await agent.locator('#drafts-count').textContent(), '3');
    assert.equal(await agent.locator('#kb-language').inputValue(), 'en');
    const parking = agent.locator('#drafts-list .draft', { has: agent.locator('.d-title', { hasText: /^Parking permits$/ }) });
    assert.equal(await parking.locator('.d-questions li').textContent(), PARKING);
    assert.equal(await parking.locator('.d-answer').textContent(), PARKING_ANSWER);
    const markup = agent.locator('#drafts-list .draft', { has: agent.locator('.d-title', { hasText: XSS }) });
    assert.equal(await markup.locator('.d-title').textContent(), XSS);
    assert.equal(await agent.locator('img').count(), 0, 'no <img> element was created');
    // The token is kept for this tab only.
    const stored = await agent.evaluate(() => [sessionStorage.getItem('kefu.console.admin'), JSON.stringify(localStorage)]);
    assert.equal(stored[0], token);
    assert.doesNotMatch(stored[1], new RegExp(token));
  });

  await step('the admin rejects the draft with markup', async () => {
    const markup = agent.locator('#drafts-list .draft', { has: agent.locator('.d-title', { hasText: XSS }) });
    await markup.locator('.reject').click();
    await markup.waitFor({ state: 'detached' });
    assert.equal(await agent.locator('#drafts-count').textContent(), '2');
  });

  await step('a publish that would mislabel a real question is refused with the figures', async () => {
    await agent.locator('#btn-publish').click();
    const result = agent.locator('#publish-result.refused');
    await result.waitFor();
    assert.equal(await result.locator('h4').textContent(), 'Publish refused');
    assert.match(await result.locator('p').textContent(), /accuracy would drop: labelled questions 100\.0% -> 0\.0%/);
    assert.equal(await agent.locator('#drafts-count').textContent(), '2', 'nothing changed');
  });

  await step('publishing the parking draft alone shows the new version, the accuracies and the diff', async () => {
    const example = agent.locator('#drafts-list .draft[data-kind=add_examples]');
    await example.locator('input[type=checkbox]').uncheck();
    await agent.locator('#btn-publish').click();
    const result = agent.locator('#publish-result.ok');
    await result.waitFor();
    assert.match(await result.locator('h4').textContent(), /^Published: version 2 is live \(\d+ entries\)$/);
    assert.match(await result.locator('.figures').textContent(), /Labelled questions100\.0%→100\.0%/);
    assert.match(await result.locator('.diff').textContent(), /^\+ faq\.parking-permits\b/m);
    await agent.locator('#drafts-count', { hasText: '1' }).waitFor();
    assert.equal(await agent.locator('#drafts-list .draft').getAttribute('data-kind'), 'add_examples');
  });

  await step('a new customer asks the same question: the bot answers it, no agent needed', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const next = await customerAsks(context, 'next-customer', PARKING);
    await next.locator(W('.msg-bot .text'), { hasText: PARKING_ANSWER }).waitFor();
    assert.equal(await next.locator(W('.queue-position')).count(), 0);
    assert.ok(await next.locator(W('.person')).isVisible(), 'still served by the bot');
    assert.ok(await next.locator(W('.banner')).isHidden(), 'not queued');
    assert.deepEqual(await cspViolations(next), []);
    await context.close();
  });

  await step('the versions list shows the initial KB and the new version, with a chart per version', async () => {
    await agent.locator('#kb-reload').click();
    await agent.locator('#versions-body tr').nth(1).waitFor();
    assert.equal(await agent.locator('#versions-body tr').count(), 2);
    const live = agent.locator('#versions-body tr.current');
    assert.equal(await live.getAttribute('data-version'), '2');
    assert.equal(await live.locator('.rollback').count(), 0, 'no rollback on the live version');
    assert.equal(await agent.locator('#versions-body tr[data-version="1"] .v-author').textContent(), 'initial');
    const chart = agent.locator('#version-chart svg');
    await chart.waitFor();
    assert.equal(await chart.locator('text', { hasText: /^v\d · / }).count(), 2);
    await agent.locator('#toasts .toast').first().waitFor({ state: 'detached', timeout: 10000 });
    await screenshot(agent, 'console-knowledge.png');
  });

  await step('rollback to version 1 makes the initial KB live again (as version 3)', async () => {
    await agent.locator('#versions-body tr[data-version="1"] .rollback').click();
    await agent.locator('#versions-body tr').nth(2).waitFor();
    const live = agent.locator('#versions-body tr.current');
    assert.equal(await live.getAttribute('data-version'), '3');
    assert.equal(await live.locator('.v-author').textContent(), 'admin (rollback to version 1)');
    assert.equal(await live.locator('td').nth(3).textContent(), await agent.locator('#versions-body tr[data-version="1"] td').nth(3).textContent());
    const decision = await botDecision(PARKING);
    assert.equal(decision.answered, null, 'the parking entry is gone');
    assert.equal(decision.state, 'queued', 'the question goes to a person again');
  });

  await step('a KB uploaded with PUT (a CSV sheet) is listed as a version; rolling it back restores the KB', async () => {
    const token = fs.readFileSync(path.join(dataDir, 'admin_token'), 'utf8').trim();
    const csv = 'question,answer,intent\n' +
      `"${PARKING}","${PARKING_ANSWER}",faq.parking-permits\n` +
      '"Where do I find my payslip?","Payslips are in the HR portal under Pay.",pay.payslip\n';
    const res = await fetch(`${base}/v1/admin/desks/hr/kb?language=en`, {
      method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/csv' }, body: csv,
    });
    const uploaded = await res.json();
    assert.equal(res.status, 200, JSON.stringify(uploaded));
    assert.equal(uploaded.version, 4);
    assert.equal((await botDecision(PARKING)).answered, 'faq.parking-permits', 'the upload is live');
    assert.equal((await botDecision(LEAVE)).answered, null, 'the upload replaced the whole KB');

    await agent.locator('#kb-reload').click();
    await agent.locator('#versions-body tr[data-version="4"]').waitFor();
    const live = agent.locator('#versions-body tr.current');
    assert.equal(await live.getAttribute('data-version'), '4');
    assert.equal(await live.locator('.v-author').textContent(), 'admin (upload)');
    assert.equal(await live.locator('.rollback').count(), 0, 'no rollback on the live version');

    await agent.locator('#versions-body tr[data-version="3"] .rollback').click();
    await agent.locator('#versions-body tr[data-version="5"].current').waitFor();
    assert.equal(await agent.locator('#versions-body tr.current .v-author').textContent(), 'admin (rollback to version 3)');
    assert.equal((await botDecision(LEAVE)).answered, 'leave.annual.apply', 'the KB before the upload is back');
    assert.equal((await botDecision(PARKING)).answered, null);
  });

  await step('a reload keeps the admin token for this tab; no CSP violation, no <img>', async () => {
    await agent.reload();
    await agent.locator('#app').waitFor();
    await agent.locator('#tab-kb').click();
    await agent.locator('#versions-body tr').nth(4).waitFor();
    assert.ok(await agent.locator('#admin-form').isHidden());
    assert.equal(await agent.locator('img').count(), 0);
    assert.deepEqual(await cspViolations(agent), []);
    assert.deepEqual(await cspViolations(customer), []);
    assert.deepEqual(problems.filter((p) => /dialog/.test(p)), []);
  });

  await customerContext.close();
  await agentContext.close();
}

await run(knowledgeScenario);
