// kefu agent console: the work. The queue and my conversations, claiming, the conversation view
// with the KB's suggested answers, replies and internal notes, transfer, resolve, and teaching the
// KB from a conversation (drafts and labelled questions: the knowledge loop). Shares window.kefuConsole
// with the other console files (console.js says which does what).
(() => {
  'use strict';

  const C = (window.kefuConsole = window.kefuConsole || {});
  const { S, $, el } = C;
  const t = (key, vars) => C.t(key, vars);

  // ---- Lists: the queue and my conversations ---------------------------------------------------

  C.refreshAll = function refreshAll() {
    C.loadQueue();
    C.loadMine();
    if (S.current) select(S.current);
  };

  C.loadQueue = async function loadQueue() {
    try {
      const data = await C.api('GET', '/v1/agent/queue');
      S.queue = data.conversations || [];
      renderQueue();
    } catch {
      // kept as it was; the next event or heartbeat reloads it
    }
  };

  C.loadMine = async function loadMine() {
    try {
      const data = await C.api('GET', '/v1/agent/conversations');
      S.mine = data.conversations || [];
      renderMine();
    } catch {
      // as above
    }
  };

  // A word of the server's (a state, a channel, an escalation reason) in the chosen language; one
  // the dictionary does not know is shown as it came.
  const word = (group, value) => (C.has(`${group}.${value}`) ? t(`${group}.${value}`) : String(value).replace(/_/g, ' '));

  function tags(v, extra) {
    const box = el('div', { class: 'c-tags' });
    for (const x of extra || []) box.appendChild(x);
    box.appendChild(el('span', { class: 'tag channel' }, word('channel', v.channel || 'web')));
    if (v.ticket) box.appendChild(el('span', { class: 'tag' }, v.ticket));
    if (v.team) box.appendChild(el('span', { class: 'tag' }, v.team));
    if (v.escalation) box.appendChild(el('span', { class: 'tag' }, word('escalation', v.escalation)));
    if (v.priority > 0) box.appendChild(el('span', { class: 'tag prio' }, t(v.priority > 1 ? 'priority.urgent' : 'priority.high')));
    return box;
  }

  function listItem(v) {
    const li = el('li', { class: 'conv-item', 'data-id': v.conversation_id, tabindex: 0 });
    if (v.team) S.teams.add(v.team);
    if (v.conversation_id === S.current) li.classList.add('current');
    li.addEventListener('click', () => select(v.conversation_id));
    li.addEventListener('keydown', (e) => { if (e.key === 'Enter') select(v.conversation_id); });
    return li;
  }

  function renderQueue() {
    const list = $('queue-list');
    list.replaceChildren();
    for (const v of S.queue) {
      const li = listItem(v);
      const side = el('div', { class: 'c-side' });
      side.appendChild(el('span', { class: 'tag wait', 'data-since': v.waiting_since || '' }, C.clock(C.waitSeconds(v))));
      const claim = el('button', { class: 'claim primary', type: 'button' }, t('action.claim'));
      claim.addEventListener('click', (e) => {
        e.stopPropagation();
        claimConversation(v.conversation_id);
      });
      side.appendChild(claim);
      li.append(el('div', { class: 'c-who' }, C.customerLabel(v)), side,
        el('div', { class: 'c-q', title: v.last_question || '' }, v.last_question || '—'), tags(v));
      list.appendChild(li);
    }
    $('queue-count').textContent = String(S.queue.length);
    $('queue-empty').hidden = S.queue.length > 0;
    C.tick();
  }

  function renderMine() {
    const list = $('mine-list');
    list.replaceChildren();
    for (const v of S.mine) {
      const li = listItem(v);
      const side = el('div', { class: 'c-side' });
      if (v.unread > 0 && v.conversation_id !== S.current) {
        side.appendChild(el('span', { class: 'unread', title: t('mine.unread', { n: v.unread }) }, String(v.unread)));
      }
      li.append(el('div', { class: 'c-who' }, C.customerLabel(v)), side,
        el('div', { class: 'c-q', title: v.last_question || '' }, v.last_question || '—'),
        tags(v, [el('span', { class: `tag state-${v.state}` }, word('state', v.state))]));
      list.appendChild(li);
    }
    $('mine-count').textContent = String(S.mine.length);
    $('mine-empty').hidden = S.mine.length > 0;
  }

  // Waits tick every second without reloading anything.
  C.tick = function tick() {
    for (const tag of document.querySelectorAll('.tag.wait[data-since]')) {
      const since = Number(tag.dataset.since);
      if (!since) continue;
      const seconds = (Date.now() * 1000 - since) / 1e6;
      tag.textContent = C.clock(seconds);
      tag.classList.toggle('long', seconds >= C.LONG_WAIT_SECONDS);
    }
  };

  // ---- Claiming ----------------------------------------------------------------------------------

  // The 409 before the server named its reasons said them in words only.
  function claimReason(e) {
    if (e.reason) return e.reason;
    const m = e.message || '';
    if (/you already serve/.test(m)) return 'yours';
    if (/has already taken/.test(m)) return 'taken';
    if (/capacity/.test(m)) return 'full';
    if (/online or away|not online/.test(m)) return 'offline';
    if (/not waiting/.test(m)) return 'not_waiting';
    return '';
  }

  // Who took it, by their display name: from the conversation (its assignee_name), else from the
  // server's English message.
  async function takenBy(id, e) {
    try {
      const data = await C.api('GET', C.convPath(id));
      const v = data.conversation || {};
      if (v.assignee) return C.agentName(v.assignee, v.assignee_name);
    } catch {
      // the message's name below
    }
    const m = /^(.+) has already taken/.exec(e.message || '');
    return m ? m[1] : '';
  }

  async function claimConversation(id) {
    try {
      await C.api('POST', C.convPath(id, '/claim'), {});
      C.loadQueue();
      C.loadMine();
      select(id);
      return;
    } catch (e) {
      if (e.status !== 409) {
        C.toast(t('claim.failed', { error: e.message }));
      } else {
        const reason = claimReason(e);
        if (reason === 'taken') {
          const name = await takenBy(id, e);
          C.toast(name ? t('claim.taken', { name }) : t('claim.taken_unknown'));
        } else {
          C.toast(t(C.has(`claim.${reason}`) ? `claim.${reason}` : 'claim.conflict'));
        }
        if (reason === 'yours') C.loadMine();
      }
    }
    C.loadQueue();
    if (id === S.current) select(id);
  }

  // ---- The conversation view ----------------------------------------------------------------------

  function forgetConversation(id) {
    S.current = id;
    S.messages.clear();
    S.seen.clear();
    S.lastSeq = 0;
    S.lastReplySeq = 0;
    $('btn-draft').disabled = true;
    $('history').replaceChildren();
    $('sugg-list').replaceChildren();
    $('sugg-question').textContent = '';
    $('transfer-form').hidden = true;
    $('composer-error').hidden = true;
    S.suggestions = [];
    S.used = null;
    $('draft-title').value = '';
    $('teach-note').textContent = '';
    fillExampleEntries();
  }

  async function select(id) {
    const token = ++S.loadToken;
    if (S.current !== id) forgetConversation(id);
    for (const li of document.querySelectorAll('.conv-item')) li.classList.toggle('current', li.dataset.id === id);
    $('conv-empty').hidden = true;
    $('conv-main').hidden = false;
    try {
      const data = await C.api('GET', C.convPath(id));
      if (token !== S.loadToken) return;
      applyView(data.conversation);
      await loadMessages(id);
      if (token !== S.loadToken) return;
      loadSuggestions(id);
      C.schedule('mine', C.loadMine);  // reading clears the unread count
    } catch (e) {
      if (token !== S.loadToken) return;
      if (e.status === 404) {
        S.current = null;
        $('conv-main').hidden = true;
        $('conv-empty').hidden = false;
      }
    }
  }
  C.select = select;

  function applyView(v) {
    S.view = v;
    if (v.team) S.teams.add(v.team);
    $('conv-customer').textContent = C.customerLabel(v);
    const meta = $('conv-meta');
    meta.replaceChildren(el('span', { class: `tag state-${v.state}` }, word('state', v.state)));
    meta.appendChild(el('span', { class: 'tag' }, word('channel', v.channel || 'web')));
    if (v.ticket) meta.appendChild(el('span', { class: 'tag' }, t('conv.ticket', { ticket: v.ticket })));
    if (v.team) meta.appendChild(el('span', { class: 'tag' }, t('conv.team', { team: v.team })));
    if (v.assignee) meta.appendChild(el('span', { class: 'tag assignee' }, t('conv.with', { name: C.agentName(v.assignee, v.assignee_name) })));
    if (v.escalation) meta.appendChild(el('span', { class: 'tag' }, word('escalation', v.escalation)));
    if (v.state === 'queued') meta.appendChild(el('span', { class: 'tag wait', 'data-since': v.waiting_since || '' }, C.clock(C.waitSeconds(v))));
    const mine = v.state === 'agent' && v.assignee === S.username;
    $('btn-claim').hidden = v.state !== 'queued';
    $('btn-transfer').disabled = !mine;
    $('btn-resolve').disabled = !mine;
    $('btn-send').disabled = false;
    const replying = composerMode() === 'reply';
    $('reply').placeholder = t(replying ? (mine ? 'composer.reply_placeholder' : 'composer.claim_first') : 'composer.note_placeholder');
  }

  async function loadMessages(id) {
    for (;;) {
      const data = await C.api('GET', C.convPath(id, `/messages?after=${S.lastSeq}&limit=1000`));
      if (id !== S.current) return;
      const messages = data.messages || [];
      for (const m of messages) addHistory(m);
      if (messages.length < 1000) return;
    }
  }
  C.loadMessages = loadMessages;

  const KINDS = new Set(['customer', 'bot', 'agent', 'system', 'note']);

  // The "who" line above a message: its kind, author and time.
  function whoLine(m, kind) {
    const who = el('div', { class: 'h-who' });
    if (kind === 'bot' || kind === 'note') who.appendChild(el('span', { class: 'kind' }, t(`kind.${kind}`)));
    if (kind === 'agent' || kind === 'note') who.appendChild(el('span', { class: 'author' }, C.agentName(m.author, m.author_name) || t('kind.agent')));
    if (kind === 'customer') who.appendChild(el('span', {}, C.customerLabel(S.view)));
    if (kind === 'bot' && m.entry_id) who.appendChild(el('span', { class: 'entry' }, m.entry_id));
    who.appendChild(el('span', { class: 'time' }, C.timeOf(m.at)));
    return who;
  }

  function addHistory(m) {
    if (!m || !Number.isSafeInteger(m.seq) || S.seen.has(m.seq)) return;
    const kind = KINDS.has(m.kind) ? m.kind : 'system';
    const li = el('li', { class: `h-msg h-${kind}`, 'data-seq': m.seq, 'data-kind': kind });
    if (kind !== 'system') li.appendChild(whoLine(m, kind));
    li.appendChild(el('div', { class: 'h-text' }, m.text || ''));
    if (kind === 'bot' && Array.isArray(m.choices) && m.choices.length > 0) {
      const clarify = m.choices.some((c) => c.entry_id);
      const titles = m.choices.map((c) => c.title).join(' · ');
      li.appendChild(el('div', { class: 'h-extra' }, t(clarify ? 'history.offered' : 'history.quick_replies', { titles })));
    }
    S.messages.set(m.seq, m);
    S.seen.set(m.seq, li);
    const history = $('history');
    let before = null;
    for (const other of history.children) {
      if (Number(other.dataset.seq) > m.seq) {
        before = other;
        break;
      }
    }
    history.insertBefore(li, before);
    S.lastSeq = Math.max(S.lastSeq, m.seq);
    if (kind === 'agent' && m.seq > S.lastReplySeq) {
      S.lastReplySeq = m.seq;
      $('btn-draft').disabled = false;
    }
    history.scrollTop = history.scrollHeight;
  }

  async function loadSuggestions(id) {
    try {
      const data = await C.api('GET', C.convPath(id, '/suggestions'));
      if (id !== S.current) return;
      S.suggestions = data.suggestions || [];
      renderSuggestions(id);
    } catch {
      // suggestions are a help, not a must
    }
  }

  function renderSuggestions(id) {
    const list = $('sugg-list');
    list.replaceChildren();
    const q = S.view && S.view.last_question;
    $('sugg-question').textContent = q ? t('sugg.for', { question: q }) : '';
    fillExampleEntries();
    for (const s of S.suggestions) {
      const li = el('li', { class: 'sugg', 'data-entry': s.entry_id });
      const use = el('button', { class: 'use', type: 'button' }, t('sugg.use'));
      use.addEventListener('click', () => {
        setComposerMode('reply');
        $('reply').value = s.answer || '';
        $('reply').focus();
        // Sent unchanged, it labels the question with this entry (POST .../labelled).
        S.used = { conversation: id, entry_id: s.entry_id, answer: (s.answer || '').trim(), question: q || '' };
      });
      const row = el('div', { class: 's-row' });
      row.append(el('span', { class: 'muted' }, s.entry_id), use);
      li.append(el('div', { class: 's-title' }, s.title || s.entry_id), el('div', { class: 's-answer' }, s.answer || ''), row);
      list.appendChild(li);
    }
    if (list.childElementCount === 0) list.appendChild(el('li', { class: 'muted' }, t('sugg.none')));
  }

  // A language switch draws the lists and the conversation shown again, keeping what was typed.
  C.onLanguage(() => {
    if (!S.token) return;
    renderQueue();
    renderMine();
    setComposerMode(composerMode());
    if (!S.current || !S.view) return;
    applyView(S.view);
    const messages = [...S.messages.values()];
    S.messages.clear();
    S.seen.clear();
    $('history').replaceChildren();
    for (const m of messages) addHistory(m);
    renderSuggestions(S.current);
    teachNote('');
    if (!$('transfer-form').hidden) fillTransferTargets();
  });

  // ---- Composer, transfer, resolve ---------------------------------------------------------------

  const composerMode = () => ($('composer').elements.mode.value === 'note' ? 'note' : 'reply');

  function setComposerMode(mode) {
    for (const r of $('composer').elements.mode) r.checked = r.value === mode;
    $('composer').classList.toggle('is-note', mode === 'note');
    $('btn-send').textContent = t(mode === 'note' ? 'composer.add_note' : 'composer.send');
    if (S.view) applyView(S.view);
  }

  for (const r of $('composer').elements.mode) r.addEventListener('change', () => setComposerMode(composerMode()));

  $('reply').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });

  $('composer').addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = S.current;
    const text = $('reply').value.trim();
    if (!id || !text) return;
    const mode = composerMode();
    $('btn-send').disabled = true;
    try {
      const data = await C.api('POST', C.convPath(id, `/${mode}`), { text });
      $('reply').value = '';
      $('composer-error').hidden = true;
      if (id === S.current) addHistory(data.message);
      if (mode === 'reply') {
        const used = S.used;
        S.used = null;
        if (used && used.conversation === id && used.answer === text) recordLabelled(id, used);
      }
    } catch (err) {
      $('composer-error').hidden = false;
      $('composer-error').textContent = err.status === 409 ? t('composer.not_yours') : err.message;
    } finally {
      $('btn-send').disabled = false;
    }
  });

  $('btn-claim').addEventListener('click', () => S.current && claimConversation(S.current));

  $('btn-transfer').addEventListener('click', () => {
    const form = $('transfer-form');
    form.hidden = !form.hidden;
    if (!form.hidden) {
      fillTransferTargets();
      form.elements.target.focus();
    }
  });
  $('transfer-cancel').addEventListener('click', () => { $('transfer-form').hidden = true; });
  $('transfer-form').elements.kind.addEventListener('change', fillTransferTargets);

  // The other agents kefu told of (presence events), by name: a name is shown and typed, the
  // username is sent.
  function otherAgents() {
    return [...S.agents].filter(([username]) => username !== S.username)
      .map(([username, a]) => ({ username, name: a.name || username, presence: a.presence }));
  }

  function fillTransferTargets() {
    const form = $('transfer-form');
    const options = $('transfer-targets');
    options.replaceChildren();
    if (form.elements.kind.value === 'agent') {
      form.elements.target.placeholder = t('transfer.agent_placeholder');
      for (const a of otherAgents()) if (a.presence === 'online') options.appendChild(el('option', { value: a.name }));
    } else {
      form.elements.target.placeholder = t('transfer.team_placeholder');
      for (const team of S.teams) options.appendChild(el('option', { value: team }));
    }
  }

  $('transfer-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const target = form.elements.target.value.trim();
    if (!S.current || !target) return;
    const toAgent = form.elements.kind.value === 'agent';
    const agent = toAgent && otherAgents().find((a) => a.name === target || a.username === target);
    const body = toAgent ? { to_agent: agent ? agent.username : target } : { to_team: target };
    try {
      const data = await C.api('POST', C.convPath(S.current, '/transfer'), body);
      form.hidden = true;
      form.elements.target.value = '';
      applyView(data.conversation);
      C.toast(t('transfer.done', { target: agent ? agent.name : target }));
      C.loadQueue();
      C.loadMine();
    } catch (err) {
      // An agent who is not online, or has no free seat, is named (409 with its reason).
      const named = toAgent && err.status === 409 && ['offline', 'full'].includes(err.reason);
      C.toast(named ? t(`transfer.${err.reason}`, { target: agent ? agent.name : target }) : t('transfer.failed', { error: err.message }));
    }
  });

  $('btn-resolve').addEventListener('click', async () => {
    if (!S.current) return;
    try {
      const data = await C.api('POST', C.convPath(S.current, '/resolve'), {});
      applyView(data.conversation);
      C.toast(t('resolve.done'));
      C.loadMine();
    } catch (err) {
      C.toast(t('resolve.failed', { error: err.message }));
    }
  });

  // ---- Teaching the KB: drafts and labelled questions (the knowledge loop) -------------------------

  // "Add question to an entry" offers the entries the KB suggested for the customer's question.
  function fillExampleEntries() {
    const entries = $('example-entry');
    entries.replaceChildren();
    for (const s of S.suggestions) entries.appendChild(el('option', { value: s.entry_id }, `${s.title || s.entry_id} (${s.entry_id})`));
    if (S.suggestions.length === 0) entries.appendChild(el('option', { value: '' }, t('teach.no_entry')));
    entries.disabled = S.suggestions.length === 0;
    $('btn-example').disabled = S.suggestions.length === 0;
  }

  function teachNote(text, isError) {
    $('teach-note').textContent = text;
    $('teach-note').classList.toggle('error', Boolean(isError));
  }

  // POST .../drafts; `said(draft)` is the confirmation. True when saved.
  async function saveDraft(body, said) {
    const id = S.current;
    if (!id) return false;
    try {
      const data = await C.api('POST', C.convPath(id, '/drafts'), body);
      if (id === S.current) teachNote(said(data.draft));
      return true;
    } catch (err) {
      if (id === S.current) teachNote(t('teach.not_saved', { error: err.message }), true);
      return false;
    }
  }

  // New entry: the last agent reply is the answer, the customer's question before it the example.
  $('teach').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!S.lastReplySeq) return;
    const title = $('draft-title').value.trim();
    const body = { kind: 'new_entry', reply_seq: S.lastReplySeq };
    if (title) body.title = title;
    $('btn-draft').disabled = true;
    try {
      const saved = await saveDraft(body, (d) => t('teach.saved_entry', { title: C.truncate(d.title || '', 80) }));
      if (saved) $('draft-title').value = '';
    } finally {
      $('btn-draft').disabled = !S.lastReplySeq;
    }
  });

  $('btn-example').addEventListener('click', async () => {
    const entry = $('example-entry').value;
    if (!entry) return;
    $('btn-example').disabled = true;
    try {
      await saveDraft({ kind: 'add_examples', entry_id: entry },
        (d) => t('teach.saved_example', { question: C.truncate((d.questions || [])[0] || '', 80), entry: d.entry_id }));
    } finally {
      $('btn-example').disabled = S.suggestions.length === 0;
    }
  });

  // A suggested answer was sent unchanged: the question is a labelled real question of that entry,
  // which every publish is checked against.
  async function recordLabelled(id, used) {
    const body = { entry_id: used.entry_id };
    if (used.question) body.question = used.question;
    try {
      await C.api('POST', C.convPath(id, '/labelled'), body);
      const question = C.truncate(used.question || t('teach.the_question'), 80);
      if (id === S.current) teachNote(t('teach.labelled', { entry: used.entry_id, question }));
    } catch {
      // a help for the checks of the next publish, not a must
    }
  }
})();
