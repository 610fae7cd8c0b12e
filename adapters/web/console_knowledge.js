// kefu agent console: the Knowledge tab. With the admin token (kept in sessionStorage, this tab only):
// the open drafts of a KB language with Reject, "Publish selected" with the check's figures and the
// diff, the versions with Rollback, and the bot resolution rate per version as a chart. Shares
// window.kefuConsole with the other console files (console.js says which does what).
(() => {
  'use strict';

  const C = (window.kefuConsole = window.kefuConsole || {});
  const { S, $, el } = C;
  const t = (key, vars) => C.t(key, vars);

  // `message`: a key of the dictionary, or none.
  function showAdminForm(message) {
    $('admin-form').hidden = false;
    $('kb-admin').hidden = true;
    S.kb.adminMessage = message || '';
    $('admin-error').hidden = !message;
    $('admin-error').textContent = message ? t(message) : '';
    S.kb.updated = null;
    $('kb-updated').textContent = '';
    $('admin-form').elements.token.focus();
  }

  function forgetAdmin(message) {
    S.admin = null;
    sessionStorage.removeItem(C.ADMIN_KEY);
    S.kb.result = null;
    $('publish-result').hidden = true;
    showAdminForm(message);
  }

  $('admin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = e.currentTarget.elements.token;
    const token = input.value.trim();
    if (!token) return;
    S.admin = token;
    sessionStorage.setItem(C.ADMIN_KEY, token);
    input.value = '';
    C.loadKnowledge();
  });
  $('admin-forget').addEventListener('click', () => forgetAdmin(''));
  $('kb-reload').addEventListener('click', () => C.loadKnowledge());
  $('kb-language').addEventListener('change', (e) => {
    S.kb.language = e.currentTarget.value;
    S.kb.result = null;
    $('publish-result').hidden = true;
    C.loadKnowledge();
  });

  // An admin call; a token the server refuses goes back to the token form.
  async function adminApi(method, suffix, body) {
    const token = S.admin;
    try {
      return await C.api(method, C.adminPath(suffix), body, token);
    } catch (e) {
      if (e.status === 401 && token === S.admin) forgetAdmin('admin.refused');
      throw e;
    }
  }

  const languageQuery = () => (S.kb.language ? `?language=${encodeURIComponent(S.kb.language)}` : '');

  // The open drafts, then the versions and their figures of the language shown.
  async function fetchKnowledge(load) {
    const drafts = await adminApi('GET', '/drafts?status=draft');
    if (load !== S.kb.load) return false;
    S.kb.drafts = drafts.drafts || [];
    for (const d of S.kb.drafts) if (d.language) S.kb.languages.add(d.language);
    if (!S.kb.language && S.kb.drafts.length > 0) S.kb.language = S.kb.drafts[0].language || '';
    const [versions, stats] = await Promise.all([
      adminApi('GET', `/kb/versions${languageQuery()}`),
      adminApi('GET', `/stats/versions${languageQuery()}`),
    ]);
    if (load !== S.kb.load) return false;
    S.kb.versions = versions.versions || [];
    S.kb.perVersion = stats.versions || [];
    for (const v of S.kb.versions) if (v.language) S.kb.languages.add(v.language);
    if (!S.kb.language && S.kb.versions.length > 0) S.kb.language = S.kb.versions[0].language;
    return true;
  }

  C.loadKnowledge = async function loadKnowledge() {
    if (!S.admin) {
      showAdminForm('');
      return;
    }
    $('admin-form').hidden = true;
    $('kb-admin').hidden = false;
    const load = ++S.kb.load;
    try {
      if (!(await fetchKnowledge(load))) return;
      S.kb.updated = { key: 'common.updated', time: C.nowTime() };
      renderKnowledge();
    } catch (e) {
      if (e.status === 401 || load !== S.kb.load) return;
      S.kb.updated = { key: 'common.not_updated', error: e.message };
      renderUpdated();
    }
  };

  function renderUpdated() {
    const u = S.kb.updated;
    $('kb-updated').textContent = u ? t(u.key, u) : '';
  }

  function renderKnowledge() {
    renderLanguages();
    renderDrafts();
    renderVersions(S.kb.versions, S.kb.perVersion);
    renderUpdated();
  }

  C.onLanguage(() => {
    if (!S.token) return;
    if (!$('admin-form').hidden) {
      $('admin-error').textContent = S.kb.adminMessage ? t(S.kb.adminMessage) : '';
      return;
    }
    renderKnowledge();
    if (S.kb.result) S.kb.result();
  });

  // The KB languages seen in drafts, versions and gaps (the API has no list of them).
  function renderLanguages() {
    const select = $('kb-language');
    select.replaceChildren();
    if (!S.kb.language) select.appendChild(el('option', { value: '' }, t('kb.first_language')));
    for (const lang of [...S.kb.languages].sort()) {
      const open = S.kb.drafts.filter((d) => d.language === lang).length;
      select.appendChild(el('option', { value: lang }, open ? t('kb.language_open', { lang, n: open }) : lang));
    }
    select.value = S.kb.language;
  }

  function draftItem(d) {
    const li = el('li', { class: 'draft', 'data-id': d.id, 'data-kind': d.kind });
    const head = el('label', { class: 'd-head' });
    const adding = d.kind === 'add_examples';
    head.append(
      el('input', { type: 'checkbox', value: d.id, checked: true }),
      el('span', { class: 'd-title' }, adding ? d.entry_id : d.title || ''),
      el('span', { class: 'tag' }, t(adding ? 'draft.kind_example' : 'draft.kind_entry')),
    );
    li.appendChild(head);
    const questions = el('ul', { class: 'd-questions', 'aria-label': t('draft.questions') });
    for (const q of d.questions || []) questions.appendChild(el('li', {}, q));
    li.appendChild(questions);
    if (d.answer) li.appendChild(el('div', { class: 'd-answer' }, d.answer));
    const meta = [!adding && d.entry_id ? t('draft.id', { id: d.entry_id }) : '', d.team ? t('draft.team', { team: d.team }) : '',
      t('draft.by', { author: d.author }), C.dateTime(d.created)];
    const row = el('div', { class: 'd-row' });
    const reject = el('button', { type: 'button', class: 'reject' }, t('draft.reject'));
    reject.addEventListener('click', () => rejectDraft(d, reject));
    row.append(el('span', { class: 'muted' }, meta.filter(Boolean).join(' · ')), reject);
    li.appendChild(row);
    return li;
  }

  function renderDrafts() {
    const lang = S.kb.language;
    const drafts = S.kb.drafts.filter((d) => !lang || !d.language || d.language === lang);
    // A re-render keeps which drafts were unchecked.
    const unchecked = new Set([...document.querySelectorAll('#drafts-list input[type=checkbox]:not(:checked)')].map((c) => c.value));
    $('drafts-list').replaceChildren(...drafts.map(draftItem));
    for (const c of document.querySelectorAll('#drafts-list input[type=checkbox]')) if (unchecked.has(c.value)) c.checked = false;
    $('drafts-count').textContent = String(drafts.length);
    $('drafts-empty').hidden = drafts.length > 0;
    $('btn-publish').disabled = drafts.length === 0;
  }

  async function rejectDraft(d, button) {
    button.disabled = true;
    try {
      await adminApi('POST', `/drafts/${encodeURIComponent(d.id)}/reject`, {});
      C.toast(t('draft.rejected'));
      await C.loadKnowledge();
    } catch (e) {
      button.disabled = false;
      if (e.status !== 401) C.toast(t('draft.not_rejected', { error: e.message }));
    }
  }

  $('btn-publish').addEventListener('click', async () => {
    const ids = [...document.querySelectorAll('#drafts-list input[type=checkbox]:checked')].map((c) => c.value);
    if (ids.length === 0) {
      showResult(() => publishResult('refused', t('publish.nothing'), [el('p', {}, t('publish.select'))]));
      return;
    }
    const body = { drafts: ids };
    if (S.kb.language) body.language = S.kb.language;
    $('btn-publish').disabled = true;
    let published = null;
    try {
      published = await adminApi('POST', '/kb/publish', body);
    } catch (e) {
      // 409: the check refused it; the message gives the accuracies before and after.
      const title = e.status === 409 ? 'publish.refused' : 'publish.failed';
      if (e.status !== 401) showResult(() => publishResult('refused', t(title), [el('p', {}, e.message)]));
    }
    $('btn-publish').disabled = false;
    if (!published) return;
    showResult(() => publishedResult(published));
    if (published.version && published.version.language) S.kb.language = published.version.language;
    await C.loadKnowledge();
  });

  // Shows a publish's result and keeps how to draw it again (a language switch).
  function showResult(draw) {
    S.kb.result = draw;
    draw();
  }

  function publishedResult(published) {
    const v = published.version || {};
    const figures = el('table', { class: 'figures' });
    const row = (label, before, after) => {
      const tr = el('tr');
      tr.append(el('th', {}, label), el('td', {}, before), el('td', { 'aria-hidden': 'true' }, '→'), el('td', {}, after));
      return tr;
    };
    figures.append(
      row(t('publish.labelled'), C.accuracy(published.labelled_accuracy_before), C.accuracy(v.labelled_accuracy)),
      row(t('publish.examples'), C.accuracy(published.examples_accuracy_before), C.accuracy(v.examples_accuracy)),
    );
    publishResult('ok', t('publish.done', { version: v.version, n: v.entries }), [
      figures,
      el('pre', { class: 'diff' }, published.diff || t('publish.no_change')),
    ]);
  }

  function publishResult(kind, title, parts) {
    const out = $('publish-result');
    out.className = `publish-result ${kind}`;
    out.replaceChildren(el('h4', {}, title), ...parts);
    out.hidden = false;
  }

  function versionRow(v) {
    const tr = el('tr', { 'data-version': v.version, class: v.current ? 'current' : '' });
    const name = el('td', { class: 'v-name' }, `v${v.version}`);
    if (v.current) name.appendChild(el('span', { class: 'tag state-agent' }, t('versions.live')));
    const action = el('td');
    if (!v.current) {
      const back = el('button', { type: 'button', class: 'rollback' }, t('versions.rollback'));
      back.addEventListener('click', () => rollback(v, back));
      action.appendChild(back);
    }
    tr.append(name, el('td', {}, C.dateTime(v.published)), el('td', { class: 'v-author' }, v.author || ''), el('td', {}, String(v.entries)),
      el('td', {}, C.accuracy(v.labelled_accuracy)), el('td', {}, C.accuracy(v.examples_accuracy)), action);
    return tr;
  }

  function renderVersions(versions, perVersion) {
    $('versions-body').replaceChildren(...[...versions].reverse().map(versionRow));  // newest first
    $('versions').hidden = versions.length === 0;
    $('versions-empty').hidden = versions.length > 0;
    // Did the publish help? The bot resolution rate of the conversations each version served.
    const rows = perVersion.map((p) => {
      const st = p.stats || {};
      const n = st.conversations || 0;
      const rate = st.bot_resolution_rate;
      return { label: t('versions.chart_label', { version: p.version, n }), value: rate || 0, max: 1, text: C.percent(rate) };
    });
    $('version-chart').replaceChildren(C.chart('chart.per_version', C.hbars(rows, '#8250df'), rows.length === 0 ? 'chart.per_version_none' : null));
  }

  async function rollback(v, button) {
    button.disabled = true;
    try {
      const data = await adminApi('POST', '/kb/rollback', { language: v.language, version: v.version });
      C.toast(t('versions.rolled_back', { version: v.version, recorded: data.version.version }));
      await C.loadKnowledge();
    } catch (e) {
      button.disabled = false;
      if (e.status !== 401) C.toast(t('versions.not_rolled_back', { error: e.message }));
    }
  }
})();
