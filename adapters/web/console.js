// kefu agent console (/console): login, presence, the queue, my conversations, the conversation view
// with the KB's suggested answers, replies, internal notes, transfer, resolve, a dashboard of the
// desk drawn as inline SVG, and the knowledge loop: the KB's gaps, drafts made from the agents' work,
// and (with the admin token) review, publish, versions and rollback. Plain JavaScript over the HTTP
// API (docs/api.md); live updates
// come from the agent SSE stream read with fetch (it needs the Authorization header), resumed with
// Last-Event-ID, with the long-poll route as the fallback. Every text from the server is set with
// textContent, never parsed as HTML.
(() => {
  'use strict';

  const SESSION_KEY = 'kefu.console';
  const ADMIN_KEY = 'kefu.console.admin';  // the admin token: sessionStorage only, never localStorage
  const HEARTBEAT_MS = 30000;
  const DASH_REFRESH_MS = 15000;
  const LONG_WAIT_SECONDS = 300;

  const $ = (id) => document.getElementById(id);

  // Builds an element; `text` goes through textContent.
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---- State ----------------------------------------------------------------------------------

  const S = {
    token: null,
    desk: '',
    username: '',
    presence: 'offline',
    queue: [],
    mine: [],
    current: null,      // id of the conversation shown
    view: null,         // its agent view
    seen: new Map(),    // seq -> <li>
    lastSeq: 0,
    lastReplySeq: 0,    // the last agent reply shown: the answer of "Save as KB draft"
    loadToken: 0,       // guards against a slow load of a conversation no longer shown
    lastEventId: null,
    live: { gen: 0, abort: null, transport: 'sse', failures: 0, polls: 0 },
    agents: new Map(),  // username -> presence, from presence events
    teams: new Set(),
    timers: [],
    scheduled: {},
    stats: null,
    suggestions: [],    // the KB's suggestions for the conversation shown
    used: null,         // the suggestion put in the reply box: {conversation, entry_id, answer, question}
    admin: null,        // the admin token, for the Knowledge tab
    kb: { language: '', languages: new Set(), drafts: [], load: 0 },
  };

  // ---- API ------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // `token` defaults to the agent's; the Knowledge tab passes the admin token.
  async function api(method, path, body, token = S.token) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'network', 'kefu cannot be reached');
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      if (res.status === 401 && token && token === S.token && path !== '/v1/agent/login') sessionEnded('Your session has ended. Please log in again.');
      throw new ApiError(res.status, err.code || 'http', err.message || res.statusText);
    }
    return data;
  }

  const convPath = (id, suffix) => `/v1/agent/conversations/${encodeURIComponent(id)}${suffix || ''}`;
  const adminPath = (suffix) => `/v1/admin/desks/${encodeURIComponent(S.desk)}${suffix}`;

  function toast(text) {
    const t = el('div', { class: 'toast' }, text);
    $('toasts').appendChild(t);
    setTimeout(() => t.remove(), 4000);
    while ($('toasts').childElementCount > 3) $('toasts').firstElementChild.remove();
  }

  // Runs `fn` once after a short pause, however often it is scheduled meanwhile.
  function schedule(name, fn, ms = 150) {
    if (S.scheduled[name]) return;
    S.scheduled[name] = setTimeout(() => {
      S.scheduled[name] = null;
      fn();
    }, ms);
  }

  // ---- Formatting -------------------------------------------------------------------------------

  function customerLabel(v) {
    const p = v && v.customer_profile;  // an identified customer's name from their signed identity
    if (p && p.name) return p.department ? `${p.name} (${p.department})` : String(p.name);
    const raw = String((v && v.customer) || '');
    const colon = raw.indexOf(':');
    const id = colon >= 0 ? raw.slice(colon + 1) : raw;
    if (/^[0-9a-f]{16,}$/.test(id)) return `Visitor ${id.slice(0, 6)}`;
    return id || 'Customer';
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
    return (h > 0 ? `${h}:` : '') + `${mm}:${String(s).padStart(2, '0')}`;
  }

  function duration(seconds) {
    if (!Number.isFinite(seconds) || seconds <= 0) return '—';
    if (seconds < 10) return `${seconds.toFixed(1)} s`;
    if (seconds < 60) return `${Math.round(seconds)} s`;
    if (seconds < 3600) return `${(seconds / 60).toFixed(seconds < 600 ? 1 : 0)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  const percent = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '—');
  const waitSeconds = (v) => (v.waiting_since ? (Date.now() * 1000 - v.waiting_since) / 1e6 : 0);
  const timeOf = (micros) => new Date(Math.floor(micros / 1000)).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const truncate = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  // Unix seconds as a date and time; 0 is "since the start".
  const dateTime = (seconds) => (seconds > 0
    ? new Date(seconds * 1000).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    : 'from the start');
  const accuracy = (x) => (Number.isFinite(x) && x >= 0 ? `${(x * 100).toFixed(1)}%` : '—');

  // ---- Login and session -------------------------------------------------------------------------

  function saveSession() {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: S.token, desk: S.desk, username: S.username, presence: S.presence }));
  }

  function showLogin(message) {
    $('app').hidden = true;
    $('login-view').hidden = false;
    $('login-error').hidden = !message;
    $('login-error').textContent = message || '';
    const form = $('login-form');
    (form.elements.username.value ? form.elements.password : form.elements.username).focus();
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.currentTarget.elements;
    const button = e.currentTarget.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const data = await api('POST', '/v1/agent/login', {
        desk: f.desk.value.trim(),
        username: f.username.value.trim(),
        password: f.password.value,
      });
      S.token = data.token;
      S.desk = f.desk.value.trim();
      S.username = f.username.value.trim();
      S.presence = 'offline';
      f.password.value = '';
      saveSession();
      boot();
    } catch (err) {
      showLogin(err.status === 401 ? 'Wrong desk, username or password.' : err.message);
    } finally {
      button.disabled = false;
    }
  });

  function sessionEnded(message) {
    stopLive();
    for (const t of S.timers) clearInterval(t);
    S.timers = [];
    S.token = null;
    S.current = null;
    S.admin = null;
    sessionStorage.removeItem(SESSION_KEY);
    sessionStorage.removeItem(ADMIN_KEY);
    showLogin(message);
  }

  $('logout').addEventListener('click', async () => {
    try {
      await api('POST', '/v1/agent/logout', {});
    } catch {
      // the session ends here anyway
    }
    sessionEnded('');
  });

  function boot() {
    $('login-view').hidden = true;
    $('app').hidden = false;
    $('me-desk').textContent = S.desk;
    $('me-name').textContent = S.username;
    setPresenceUi(S.presence);
    if (S.presence !== 'offline') setPresence(S.presence);  // after a reload
    refreshAll();
    startLive();
    S.timers.push(setInterval(heartbeat, HEARTBEAT_MS));
    S.timers.push(setInterval(tick, 1000));
    S.timers.push(setInterval(() => { if (!$('dashboard').hidden) loadDashboard(); }, DASH_REFRESH_MS));
  }

  async function heartbeat() {
    if (!S.token) return;
    try {
      await api('POST', '/v1/agent/heartbeat', {});
      loadQueue();  // a safety net for a missed event
    } catch {
      // the live indicator shows connection trouble
    }
  }

  // ---- Presence ----------------------------------------------------------------------------------

  function setPresenceUi(status) {
    S.presence = status;
    for (const b of document.querySelectorAll('.presence button')) {
      b.setAttribute('aria-checked', String(b.dataset.presence === status));
    }
    $('mine-empty').textContent = status === 'online' ? 'No conversations yet: they arrive here.' : 'Go online to be assigned conversations.';
  }

  async function setPresence(status) {
    try {
      const data = await api('PUT', '/v1/agent/presence', { status });
      setPresenceUi(data.status);
      saveSession();
      loadQueue();
      loadMine();
    } catch (e) {
      toast(`Presence not changed: ${e.message}`);
    }
  }

  for (const b of document.querySelectorAll('.presence button')) {
    b.addEventListener('click', () => setPresence(b.dataset.presence));
  }

  // ---- Tabs --------------------------------------------------------------------------------------

  const TABS = { work: ['tab-work', 'work'], dash: ['tab-dash', 'dashboard'], kb: ['tab-kb', 'knowledge'] };

  function showTab(which) {
    for (const [name, [tab, panel]] of Object.entries(TABS)) {
      $(tab).setAttribute('aria-selected', String(name === which));
      $(panel).hidden = name !== which;
    }
    if (which === 'dash') loadDashboard();
    if (which === 'kb') loadKnowledge();
  }
  for (const [name, [tab]] of Object.entries(TABS)) $(tab).addEventListener('click', () => showTab(name));

  // ---- Lists: the queue and my conversations ---------------------------------------------------

  function refreshAll() {
    loadQueue();
    loadMine();
    if (S.current) select(S.current);
  }

  async function loadQueue() {
    try {
      const data = await api('GET', '/v1/agent/queue');
      S.queue = data.conversations || [];
      renderQueue();
    } catch {
      // kept as it was; the next event or heartbeat reloads it
    }
  }

  async function loadMine() {
    try {
      const data = await api('GET', '/v1/agent/conversations');
      S.mine = data.conversations || [];
      renderMine();
    } catch {
      // as above
    }
  }

  function tags(v, extra) {
    const box = el('div', { class: 'c-tags' });
    for (const x of extra || []) box.appendChild(x);
    box.appendChild(el('span', { class: 'tag channel' }, v.channel || 'web'));
    if (v.ticket) box.appendChild(el('span', { class: 'tag' }, v.ticket));
    if (v.team) box.appendChild(el('span', { class: 'tag' }, v.team));
    if (v.escalation) box.appendChild(el('span', { class: 'tag' }, v.escalation.replace(/_/g, ' ')));
    if (v.priority > 0) box.appendChild(el('span', { class: 'tag prio' }, v.priority > 1 ? 'urgent' : 'high'));
    return box;
  }

  function renderQueue() {
    const list = $('queue-list');
    list.replaceChildren();
    for (const v of S.queue) {
      if (v.team) S.teams.add(v.team);
      const li = el('li', { class: 'conv-item', 'data-id': v.conversation_id, tabindex: 0 });
      if (v.conversation_id === S.current) li.classList.add('current');
      const side = el('div', { class: 'c-side' });
      side.appendChild(el('span', { class: 'tag wait', 'data-since': v.waiting_since || '' }, clock(waitSeconds(v))));
      const claim = el('button', { class: 'claim primary', type: 'button' }, 'Claim');
      claim.addEventListener('click', (e) => {
        e.stopPropagation();
        claimConversation(v.conversation_id);
      });
      side.appendChild(claim);
      li.append(el('div', { class: 'c-who' }, customerLabel(v)), side,
        el('div', { class: 'c-q', title: v.last_question || '' }, v.last_question || '—'), tags(v));
      li.addEventListener('click', () => select(v.conversation_id));
      li.addEventListener('keydown', (e) => { if (e.key === 'Enter') select(v.conversation_id); });
      list.appendChild(li);
    }
    $('queue-count').textContent = String(S.queue.length);
    $('queue-empty').hidden = S.queue.length > 0;
    tick();
  }

  function renderMine() {
    const list = $('mine-list');
    list.replaceChildren();
    for (const v of S.mine) {
      if (v.team) S.teams.add(v.team);
      const li = el('li', { class: 'conv-item', 'data-id': v.conversation_id, tabindex: 0 });
      if (v.conversation_id === S.current) li.classList.add('current');
      const side = el('div', { class: 'c-side' });
      if (v.unread > 0 && v.conversation_id !== S.current) {
        side.appendChild(el('span', { class: 'unread', title: 'Unread messages' }, String(v.unread)));
      }
      li.append(el('div', { class: 'c-who' }, customerLabel(v)), side,
        el('div', { class: 'c-q', title: v.last_question || '' }, v.last_question || '—'),
        tags(v, [el('span', { class: `tag state-${v.state}` }, v.state)]));
      li.addEventListener('click', () => select(v.conversation_id));
      li.addEventListener('keydown', (e) => { if (e.key === 'Enter') select(v.conversation_id); });
      list.appendChild(li);
    }
    $('mine-count').textContent = String(S.mine.length);
    $('mine-empty').hidden = S.mine.length > 0;
  }

  // Waits tick every second without reloading anything.
  function tick() {
    for (const tag of document.querySelectorAll('.tag.wait[data-since]')) {
      const since = Number(tag.dataset.since);
      if (!since) continue;
      const seconds = (Date.now() * 1000 - since) / 1e6;
      tag.textContent = clock(seconds);
      tag.classList.toggle('long', seconds >= LONG_WAIT_SECONDS);
    }
  }

  async function claimConversation(id) {
    try {
      await api('POST', convPath(id, '/claim'), {});
      loadQueue();
      loadMine();
      select(id);
    } catch (e) {
      toast(e.status === 409 ? 'Not claimed: someone else has it, or you are offline or full.' : `Not claimed: ${e.message}`);
      loadQueue();
    }
  }

  // ---- The conversation view ----------------------------------------------------------------------

  async function select(id) {
    const token = ++S.loadToken;
    if (S.current !== id) {
      S.current = id;
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
    for (const li of document.querySelectorAll('.conv-item')) li.classList.toggle('current', li.dataset.id === id);
    $('conv-empty').hidden = true;
    $('conv-main').hidden = false;
    try {
      const data = await api('GET', convPath(id));
      if (token !== S.loadToken) return;
      applyView(data.conversation);
      await loadMessages(id);
      if (token !== S.loadToken) return;
      loadSuggestions(id);
      schedule('mine', loadMine);  // reading clears the unread count
    } catch (e) {
      if (token !== S.loadToken) return;
      if (e.status === 404) {
        S.current = null;
        $('conv-main').hidden = true;
        $('conv-empty').hidden = false;
      }
    }
  }

  function applyView(v) {
    S.view = v;
    if (v.team) S.teams.add(v.team);
    $('conv-customer').textContent = customerLabel(v);
    const meta = $('conv-meta');
    meta.replaceChildren(el('span', { class: `tag state-${v.state}` }, v.state));
    meta.appendChild(el('span', { class: 'tag' }, v.channel || 'web'));
    if (v.ticket) meta.appendChild(el('span', { class: 'tag' }, `ticket ${v.ticket}`));
    if (v.team) meta.appendChild(el('span', { class: 'tag' }, `team ${v.team}`));
    if (v.assignee) meta.appendChild(el('span', { class: 'tag' }, `with ${v.assignee_name || v.assignee}`));
    if (v.escalation) meta.appendChild(el('span', { class: 'tag' }, v.escalation.replace(/_/g, ' ')));
    if (v.state === 'queued') meta.appendChild(el('span', { class: 'tag wait', 'data-since': v.waiting_since || '' }, clock(waitSeconds(v))));
    const mine = v.state === 'agent' && v.assignee === S.username;
    $('btn-claim').hidden = v.state !== 'queued';
    $('btn-transfer').disabled = !mine;
    $('btn-resolve').disabled = !mine;
    $('btn-send').disabled = false;
    const replying = composerMode() === 'reply';
    $('reply').placeholder = replying ? (mine ? 'Write a reply…' : 'Claim the conversation to reply') : 'Write a note only agents see…';
  }

  async function loadMessages(id) {
    for (;;) {
      const data = await api('GET', convPath(id, `/messages?after=${S.lastSeq}&limit=1000`));
      if (id !== S.current) return;
      const messages = data.messages || [];
      for (const m of messages) addHistory(m);
      if (messages.length < 1000) return;
    }
  }

  const KIND_LABEL = { customer: 'Customer', bot: 'Bot', agent: 'Agent', system: 'System', note: 'Internal note' };

  function addHistory(m) {
    if (!m || !Number.isSafeInteger(m.seq) || S.seen.has(m.seq)) return;
    const kind = KIND_LABEL[m.kind] ? m.kind : 'system';
    const li = el('li', { class: `h-msg h-${kind}`, 'data-seq': m.seq, 'data-kind': kind });
    if (kind !== 'system') {
      const who = el('div', { class: 'h-who' });
      if (kind === 'bot' || kind === 'note') who.appendChild(el('span', { class: 'kind' }, KIND_LABEL[kind]));
      if (kind === 'agent' || kind === 'note') who.appendChild(el('span', {}, m.author || 'agent'));
      if (kind === 'customer') who.appendChild(el('span', {}, customerLabel(S.view)));
      if (kind === 'bot' && m.entry_id) who.appendChild(el('span', { class: 'entry' }, m.entry_id));
      who.appendChild(el('span', { class: 'time' }, timeOf(m.at)));
      li.appendChild(who);
    }
    li.appendChild(el('div', { class: 'h-text' }, m.text || ''));
    if (kind === 'bot' && Array.isArray(m.choices) && m.choices.length > 0) {
      const clarify = m.choices.some((c) => c.entry_id);
      li.appendChild(el('div', { class: 'h-extra' }, `${clarify ? 'Offered' : 'Quick replies'}: ${m.choices.map((c) => c.title).join(' · ')}`));
    }
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
      const data = await api('GET', convPath(id, '/suggestions'));
      if (id !== S.current) return;
      const list = $('sugg-list');
      list.replaceChildren();
      const q = S.view && S.view.last_question;
      $('sugg-question').textContent = q ? `For “${q}”` : '';
      S.suggestions = data.suggestions || [];
      fillExampleEntries();
      for (const s of S.suggestions) {
        const li = el('li', { class: 'sugg', 'data-entry': s.entry_id });
        const use = el('button', { class: 'use', type: 'button' }, 'Use');
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
      if (list.childElementCount === 0) list.appendChild(el('li', { class: 'muted' }, 'No suggestions for this question.'));
    } catch {
      // suggestions are a help, not a must
    }
  }

  // ---- Composer, transfer, resolve ---------------------------------------------------------------

  const composerMode = () => ($('composer').elements.mode.value === 'note' ? 'note' : 'reply');

  function setComposerMode(mode) {
    for (const r of $('composer').elements.mode) r.checked = r.value === mode;
    $('composer').classList.toggle('is-note', mode === 'note');
    $('btn-send').textContent = mode === 'note' ? 'Add note' : 'Send';
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
      const data = await api('POST', convPath(id, `/${mode}`), { text });
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
      $('composer-error').textContent = err.status === 409 ? 'Only the agent serving this conversation can reply. Claim it first.' : err.message;
    } finally {
      $('btn-send').disabled = false;
    }
  });


  // ---- Teaching the KB: drafts and labelled questions (the knowledge loop) -------------------------

  // "Add question to an entry" offers the entries the KB suggested for the customer's question.
  function fillExampleEntries() {
    const select = $('example-entry');
    select.replaceChildren();
    for (const s of S.suggestions) select.appendChild(el('option', { value: s.entry_id }, `${s.title || s.entry_id} (${s.entry_id})`));
    if (S.suggestions.length === 0) select.appendChild(el('option', { value: '' }, 'no suggested entry'));
    select.disabled = S.suggestions.length === 0;
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
      const data = await api('POST', convPath(id, '/drafts'), body);
      if (id === S.current) teachNote(said(data.draft));
      return true;
    } catch (err) {
      if (id === S.current) teachNote(`Not saved: ${err.message}`, true);
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
      const saved = await saveDraft(body, (d) => `Saved as a KB draft: “${truncate(d.title || '', 80)}”. An admin reviews it under Knowledge.`);
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
        (d) => `Saved as a KB draft: “${truncate((d.questions || [])[0] || '', 80)}” as a new question of ${d.entry_id}.`);
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
      await api('POST', convPath(id, '/labelled'), body);
      if (id === S.current) teachNote(`Recorded: ${used.entry_id} answers “${truncate(used.question || 'the question', 80)}”.`);
    } catch {
      // a help for the checks of the next publish, not a must
    }
  }

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

  function fillTransferTargets() {
    const form = $('transfer-form');
    const options = $('transfer-targets');
    options.replaceChildren();
    if (form.elements.kind.value === 'agent') {
      form.elements.target.placeholder = 'username of an online agent';
      for (const [name, presence] of S.agents) {
        if (name !== S.username && presence === 'online') options.appendChild(el('option', { value: name }));
      }
    } else {
      form.elements.target.placeholder = 'team';
      for (const team of S.teams) options.appendChild(el('option', { value: team }));
    }
  }

  $('transfer-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const target = form.elements.target.value.trim();
    if (!S.current || !target) return;
    const body = form.elements.kind.value === 'agent' ? { to_agent: target } : { to_team: target };
    try {
      const data = await api('POST', convPath(S.current, '/transfer'), body);
      form.hidden = true;
      form.elements.target.value = '';
      applyView(data.conversation);
      toast(`Transferred to ${target}`);
      loadQueue();
      loadMine();
    } catch (err) {
      toast(`Not transferred: ${err.message}`);
    }
  });

  $('btn-resolve').addEventListener('click', async () => {
    if (!S.current) return;
    try {
      const data = await api('POST', convPath(S.current, '/resolve'), {});
      applyView(data.conversation);
      toast('Resolved. The customer is asked to rate.');
      loadMine();
    } catch (err) {
      toast(`Not resolved: ${err.message}`);
    }
  });

  // ---- Live updates -------------------------------------------------------------------------------

  function setLive(on) {
    const live = $('live');
    live.textContent = on ? 'live' : 'reconnecting…';
    live.className = `live ${on ? 'on' : 'off'}`;
  }

  function stopLive() {
    S.live.gen++;
    if (S.live.abort) S.live.abort.abort();
    S.live.abort = null;
  }

  function startLive() {
    stopLive();
    const gen = S.live.gen;
    liveLoop(gen).catch(() => {});
  }

  async function liveLoop(gen) {
    const live = S.live;
    let retryMs = 3000;
    if (typeof ReadableStream !== 'function' || typeof TextDecoderStream !== 'function') live.transport = 'poll';
    while (live.gen === gen && S.token) {
      live.abort = new AbortController();
      const signal = live.abort.signal;
      const started = Date.now();
      try {
        if (live.transport === 'sse') await readSse(signal, (ms) => (retryMs = ms));
        else await pollOnce(signal);
        live.failures = 0;
        if (live.transport === 'poll') {
          if (++live.polls >= 10) {  // now and then, try the stream again
            live.polls = 0;
            live.transport = 'sse';
          }
          continue;
        }
      } catch (e) {
        if (live.gen !== gen || signal.aborted) return;
        live.failures++;
        // A stream that fails twice at once (a proxy that buffers or blocks it): long polls.
        if (live.transport === 'sse' && live.failures >= 2 && Date.now() - started < 10000) live.transport = 'poll';
        setLive(false);
      }
      if (live.gen !== gen) return;
      const backoff = live.failures <= 1 ? 1000 : Math.min(30000, retryMs * 2 ** (live.failures - 2));
      await sleep(live.failures === 0 ? retryMs : backoff * (0.75 + Math.random() / 2));
    }
  }

  async function readSse(signal, setRetry) {
    const headers = { Authorization: `Bearer ${S.token}`, Accept: 'text/event-stream' };
    if (S.lastEventId !== null) headers['Last-Event-ID'] = String(S.lastEventId);
    const res = await fetch('/v1/agent/events', { headers, signal, cache: 'no-store' });
    if (res.status === 401) {
      sessionEnded('Your session has ended. Please log in again.');
      throw new ApiError(401, 'unauthenticated', 'session ended');
    }
    if (!res.ok || !res.body) throw new ApiError(res.status, 'http', res.statusText);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => reader.cancel().catch(() => {}), 35000);  // two heartbeats missed
    };
    arm();
    let buffer = '';
    let event = { type: 'message', data: [], id: null };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        S.live.failures = 0;
        buffer += value;
        const lines = buffer.split(/\r\n|\r|\n/);
        buffer = lines.pop();
        for (const line of lines) {
          if (line === '') {
            if (event.id !== null) S.lastEventId = event.id;
            if (event.data.length > 0) {
              try {
                handleEvent(event.type, JSON.parse(event.data.join('\n')));
              } catch (err) {
                console.error('kefu console: event', event.type, err);
              }
            }
            event = { type: 'message', data: [], id: null };
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event.type = value;
            else if (field === 'data') event.data.push(value);
            else if (field === 'id' && /^\d+$/.test(value)) event.id = Number(value);
            else if (field === 'retry' && /^\d+$/.test(value)) setRetry(Number(value));
          }
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  async function pollOnce(signal) {
    const after = S.lastEventId === null ? '' : `after=${S.lastEventId}&`;
    const res = await fetch(`/v1/agent/poll?${after}timeout=25`, {
      headers: { Authorization: `Bearer ${S.token}`, Accept: 'application/json' },
      signal,
      cache: 'no-store',
    });
    if (res.status === 401) {
      sessionEnded('Your session has ended. Please log in again.');
      throw new ApiError(401, 'unauthenticated', 'session ended');
    }
    if (!res.ok) throw new ApiError(res.status, 'http', res.statusText);
    const data = await res.json();
    setLive(true);
    if (data.resync) handleEvent('resync', {});
    for (const e of data.events || []) handleEvent(e.type, e);
    S.lastEventId = data.last_event_id;
  }

  // Agent events: {id, type, conversation?, data} (docs/api.md, GET /v1/agent/events).
  function handleEvent(type, e) {
    const data = (e && e.data) || {};
    switch (type) {
      case 'ready':
        setLive(true);
        break;
      case 'resync':
        refreshAll();
        break;
      case 'queue':
        schedule('queue', loadQueue);
        break;
      case 'presence':
        if (data.agent) S.agents.set(data.agent, data.presence);
        if (data.agent === S.username && data.presence && data.presence !== S.presence) {
          setPresenceUi(data.presence);
          saveSession();
          if (data.presence === 'offline') toast('You are offline now.');
        }
        break;
      case 'assigned':
        schedule('mine', loadMine);
        schedule('queue', loadQueue);
        if (data.assignee === S.username && e.conversation !== S.current) {
          toast(`New conversation: ${data.ticket || 'a customer'} is yours`);
          if (!S.current) select(e.conversation);
        }
        if (e.conversation === S.current) select(S.current);
        break;
      case 'state':
        schedule('mine', loadMine);
        if (e.conversation === S.current) select(S.current);
        break;
      case 'message':
        if (e.conversation === S.current) {
          loadMessages(S.current)
            .then(() => schedule('mine', loadMine))
            .catch(() => {});
          if (data.kind === 'customer') schedule('suggest', () => S.current && select(S.current), 300);
        } else {
          schedule('mine', loadMine);
        }
        break;
      case 'reminder':
        toast(`Reminder: ticket ${data.ticket || data.id || ''}`);
        break;
      case 'logout':
        sessionEnded('You were logged out.');
        break;
      default:
        break;
    }
  }

  // ---- Dashboard (inline SVG) ----------------------------------------------------------------------

  async function loadDashboard() {
    try {
      const [stats, gaps] = await Promise.all([api('GET', '/v1/agent/stats'), api('GET', '/v1/agent/gaps').catch(() => null), loadQueue()]);
      S.stats = stats;
      renderDashboard(stats);
      if (gaps) renderGaps(gaps.gaps || []);
      $('dash-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      $('dash-updated').textContent = `not updated: ${e.message}`;
    }
  }

  function card(key, value, sub) {
    const c = el('div', { class: 'card' });
    c.append(el('div', { class: 'k' }, key), el('div', { class: 'v' }, value), el('div', { class: 's' }, sub || ''));
    return c;
  }

  function renderDashboard(s) {
    const waits = S.queue.map(waitSeconds);
    const longest = waits.length ? Math.max(...waits) : 0;
    const people = Math.max(0, (s.resolved || 0) - (s.resolved_by_bot || 0));
    $('dash-cards').replaceChildren(
      card('Conversations', String(s.conversations), `${s.customer_messages} customer messages (all time)`),
      card('Bot resolution', percent(s.bot_resolution_rate), `${s.resolved_by_bot} of ${s.resolved} resolved by the bot`),
      card('Queue now', String(s.queue_length ?? S.queue.length), waits.length ? `longest wait ${clock(longest)}` : `${s.agents_online ?? 0} ${s.agents_online === 1 ? 'agent' : 'agents'} online`),
      card('Queue wait', duration(s.queue_wait_p50_seconds), `median · p90 ${duration(s.queue_wait_p90_seconds)}`),
      card('First response', duration(s.first_response_p50_seconds), `median · p90 ${duration(s.first_response_p90_seconds)}`),
      card('CSAT', s.csat_count ? `${s.csat_average.toFixed(1)} / 5` : '—', `${s.csat_count} ratings`),
    );
    const charts = $('dash-charts');
    charts.replaceChildren(
      chart('Who resolved conversations', donut([
        { label: 'Bot', value: s.resolved_by_bot || 0, color: '#8250df' },
        { label: 'People', value: people, color: '#1f6feb' },
      ]), s.resolved === 0 ? 'Nothing resolved yet.' : null),
      chart('Waiting now (minutes:seconds)', columns(S.queue.map((v, i) => ({ label: `#${i + 1}`, value: waitSeconds(v), text: clock(waitSeconds(v)) }))),
        S.queue.length === 0 ? 'Nobody is waiting.' : null),
      chart('Response times', hbars([
        { label: 'Queue wait p50', value: s.queue_wait_p50_seconds, text: duration(s.queue_wait_p50_seconds) },
        { label: 'Queue wait p90', value: s.queue_wait_p90_seconds, text: duration(s.queue_wait_p90_seconds) },
        { label: 'First response p50', value: s.first_response_p50_seconds, text: duration(s.first_response_p50_seconds) },
        { label: 'First response p90', value: s.first_response_p90_seconds, text: duration(s.first_response_p90_seconds) },
        { label: 'Handle time p50', value: s.handle_time_p50_seconds, text: duration(s.handle_time_p50_seconds) },
      ], '#1a7f37')),
      chart('Top unmatched questions', hbars((s.top_unmatched || []).slice(0, 8).map((u) => ({ label: u.question, value: u.count, text: String(u.count) })), '#bc4c00'),
        (s.top_unmatched || []).length === 0 ? 'The bot matched every question so far.' : null),
      chart('Most answered', hbars((s.intent_hits || []).slice(0, 8).map((h) => ({ label: h.entry_id, value: h.answers, text: String(h.answers) })), '#8250df'),
        (s.intent_hits || []).length === 0 ? 'No answers yet.' : null),
      chart('Satisfaction and feedback', hbars([
        { label: 'CSAT average (of 5)', value: s.csat_average || 0, max: 5, text: s.csat_count ? s.csat_average.toFixed(2) : '—' },
        { label: 'Helpful answers', value: s.helpful_feedback || 0, text: String(s.helpful_feedback || 0) },
        { label: "Didn't help", value: s.unhelpful_feedback || 0, text: String(s.unhelpful_feedback || 0) },
        { label: 'Escalation rate', value: s.escalation_rate || 0, max: 1, text: percent(s.escalation_rate) },
      ], '#d4a72c')),
    );
  }

  // The knowledge gaps, ranked as the server ranks them (by how many customers asked).
  function renderGaps(gaps) {
    const list = $('gaps-list');
    list.replaceChildren();
    for (const g of gaps) {
      if (g.language) S.kb.languages.add(g.language);
      const li = el('li', { class: 'gap' });
      const examples = el('ul', { class: 'g-examples', 'aria-label': 'What customers asked' });
      for (const x of (g.examples || []).slice(0, 5)) examples.appendChild(el('li', {}, x));
      const figures = el('div', { class: 'g-figures' });
      figures.append(
        el('span', { class: 'g-customers' }, `${g.customers} ${g.customers === 1 ? 'customer' : 'customers'}`),
        el('span', { class: 'muted' }, `${g.questions} ${g.questions === 1 ? 'question' : 'questions'}`),
        el('span', { class: 'muted' }, `first ${dateTime(g.first_seen)} · last ${dateTime(g.last_seen)}`),
      );
      const nearest = el('div', { class: 'g-nearest' });
      if (g.nearest_entry) {
        // The matcher's raw score means nothing to a lead: the closest entry says enough.
        nearest.append(el('span', { class: 'muted' }, 'closest entry in the KB: '), el('span', { class: 'entry' }, g.nearest_entry));
      } else {
        nearest.appendChild(el('span', { class: 'muted' }, 'no similar entry'));
      }
      if (g.language) nearest.appendChild(el('span', { class: 'tag' }, g.language));
      li.append(examples, figures, nearest);
      list.appendChild(li);
    }
    $('gaps-empty').hidden = gaps.length > 0;
  }

  function chart(title, svg, emptyNote) {
    const box = el('figure', { class: 'chart' });
    box.appendChild(el('h3', {}, title));
    if (emptyNote) box.appendChild(el('p', { class: 'none' }, emptyNote));
    else box.appendChild(svg);
    return box;
  }

  // Horizontal bars: a label, a bar, the value. A row's own `max` (e.g. 5 for CSAT) wins.
  function hbars(rows, color) {
    const width = 420;
    const rowH = 26;
    const labelW = 170;
    const barW = width - labelW - 60;
    const max = Math.max(1e-9, ...rows.filter((r) => !r.max).map((r) => Number(r.value) || 0));
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${Math.max(rowH, rows.length * rowH)}`, role: 'img' });
    rows.forEach((r, i) => {
      const y = i * rowH;
      const value = Math.max(0, Number(r.value) || 0);
      const w = Math.max(value > 0 ? 2 : 0, (value / (r.max || max)) * barW);
      const label = svgEl('text', { x: 0, y: y + 17 }, truncate(String(r.label), 26));
      label.appendChild(svgEl('title', {}, String(r.label)));
      svg.append(
        label,
        svgEl('rect', { x: labelW, y: y + 6, width: barW, height: 14, rx: 3, fill: '#eef1f4' }),
        svgEl('rect', { x: labelW, y: y + 6, width: w, height: 14, rx: 3, fill: color }),
        svgEl('text', { x: labelW + barW + 6, y: y + 17, class: 'dim' }, r.text),
      );
    });
    return svg;
  }

  // Vertical columns with their labels below.
  function columns(rows) {
    const width = 420;
    const height = 150;
    const base = 120;
    const max = Math.max(1, ...rows.map((r) => r.value));
    const n = Math.min(rows.length, 12);
    const step = width / Math.max(n, 1);
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
    svg.appendChild(svgEl('line', { x1: 0, y1: base, x2: width, y2: base, stroke: '#d1d9e0' }));
    rows.slice(0, n).forEach((r, i) => {
      const h = Math.max(2, (r.value / max) * (base - 20));
      const x = i * step + step * 0.2;
      const long = r.value >= LONG_WAIT_SECONDS;
      svg.append(
        svgEl('rect', { x, y: base - h, width: step * 0.6, height: h, rx: 3, fill: long ? '#cf222e' : '#d4a72c' }),
        svgEl('text', { x: x + step * 0.3, y: base - h - 4, 'text-anchor': 'middle', class: 'dim' }, r.text),
        svgEl('text', { x: x + step * 0.3, y: base + 16, 'text-anchor': 'middle' }, r.label),
      );
    });
    return svg;
  }

  // A donut with a legend.
  function donut(parts) {
    const total = parts.reduce((a, p) => a + p.value, 0);
    const svg = svgEl('svg', { viewBox: '0 0 420 130', role: 'img' });
    const r = 48;
    const c = 2 * Math.PI * r;
    svg.appendChild(svgEl('circle', { cx: 65, cy: 65, r, fill: 'none', stroke: '#eef1f4', 'stroke-width': 22 }));
    let offset = 0;
    for (const p of parts) {
      if (total <= 0 || p.value <= 0) continue;
      const len = (p.value / total) * c;
      svg.appendChild(svgEl('circle', {
        cx: 65, cy: 65, r, fill: 'none', stroke: p.color, 'stroke-width': 22,
        'stroke-dasharray': `${len} ${c - len}`, 'stroke-dashoffset': -offset, transform: 'rotate(-90 65 65)',
      }));
      offset += len;
    }
    const main = total > 0 ? percent(parts[0].value / total) : '—';
    svg.appendChild(svgEl('text', { x: 65, y: 70, 'text-anchor': 'middle', 'font-weight': 700 }, main));
    parts.forEach((p, i) => {
      const y = 40 + i * 28;
      svg.append(
        svgEl('rect', { x: 150, y: y - 11, width: 14, height: 14, rx: 3, fill: p.color }),
        svgEl('text', { x: 172, y }, `${p.label}: ${p.value}`),
      );
    });
    return svg;
  }

  // ---- Knowledge: review drafts, publish, versions, rollback (with the admin token) ----------------

  function showAdminForm(message) {
    $('admin-form').hidden = false;
    $('kb-admin').hidden = true;
    $('admin-error').hidden = !message;
    $('admin-error').textContent = message || '';
    $('kb-updated').textContent = '';
    $('admin-form').elements.token.focus();
  }

  function forgetAdmin(message) {
    S.admin = null;
    sessionStorage.removeItem(ADMIN_KEY);
    $('publish-result').hidden = true;
    showAdminForm(message);
  }

  $('admin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = e.currentTarget.elements.token;
    const token = input.value.trim();
    if (!token) return;
    S.admin = token;
    sessionStorage.setItem(ADMIN_KEY, token);
    input.value = '';
    loadKnowledge();
  });
  $('admin-forget').addEventListener('click', () => forgetAdmin(''));
  $('kb-reload').addEventListener('click', () => loadKnowledge());
  $('kb-language').addEventListener('change', (e) => {
    S.kb.language = e.currentTarget.value;
    $('publish-result').hidden = true;
    loadKnowledge();
  });

  // An admin call; a token the server refuses goes back to the token form.
  async function adminApi(method, suffix, body) {
    const token = S.admin;
    try {
      return await api(method, adminPath(suffix), body, token);
    } catch (e) {
      if (e.status === 401 && token === S.admin) forgetAdmin('The admin token was not accepted.');
      throw e;
    }
  }

  const languageQuery = () => (S.kb.language ? `?language=${encodeURIComponent(S.kb.language)}` : '');

  async function loadKnowledge() {
    if (!S.admin) {
      showAdminForm('');
      return;
    }
    $('admin-form').hidden = true;
    $('kb-admin').hidden = false;
    const load = ++S.kb.load;
    try {
      const drafts = await adminApi('GET', '/drafts?status=draft');
      if (load !== S.kb.load) return;
      S.kb.drafts = drafts.drafts || [];
      for (const d of S.kb.drafts) if (d.language) S.kb.languages.add(d.language);
      if (!S.kb.language && S.kb.drafts.length > 0) S.kb.language = S.kb.drafts[0].language || '';
      const [versions, stats] = await Promise.all([
        adminApi('GET', `/kb/versions${languageQuery()}`),
        adminApi('GET', `/stats/versions${languageQuery()}`),
      ]);
      if (load !== S.kb.load) return;
      const list = versions.versions || [];
      for (const v of list) if (v.language) S.kb.languages.add(v.language);
      if (!S.kb.language && list.length > 0) S.kb.language = list[0].language;
      renderLanguages();
      renderDrafts();
      renderVersions(list, stats.versions || []);
      $('kb-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      if (e.status !== 401 && load === S.kb.load) $('kb-updated').textContent = `not updated: ${e.message}`;
    }
  }

  // The KB languages seen in drafts, versions and gaps (the API has no list of them).
  function renderLanguages() {
    const select = $('kb-language');
    select.replaceChildren();
    if (!S.kb.language) select.appendChild(el('option', { value: '' }, "the desk's first"));
    for (const lang of [...S.kb.languages].sort()) {
      const open = S.kb.drafts.filter((d) => d.language === lang).length;
      select.appendChild(el('option', { value: lang }, open ? `${lang} · ${open} open ${open === 1 ? 'draft' : 'drafts'}` : lang));
    }
    select.value = S.kb.language;
  }

  function renderDrafts() {
    const list = $('drafts-list');
    list.replaceChildren();
    const lang = S.kb.language;
    const drafts = S.kb.drafts.filter((d) => !lang || !d.language || d.language === lang);
    for (const d of drafts) {
      const li = el('li', { class: 'draft', 'data-id': d.id, 'data-kind': d.kind });
      const head = el('label', { class: 'd-head' });
      const adding = d.kind === 'add_examples';
      head.append(
        el('input', { type: 'checkbox', value: d.id, checked: true }),
        el('span', { class: 'd-title' }, adding ? d.entry_id : d.title || ''),
        el('span', { class: 'tag' }, adding ? 'new question for an entry' : 'new entry'),
      );
      li.appendChild(head);
      const questions = el('ul', { class: 'd-questions', 'aria-label': 'Questions' });
      for (const q of d.questions || []) questions.appendChild(el('li', {}, q));
      li.appendChild(questions);
      if (d.answer) li.appendChild(el('div', { class: 'd-answer' }, d.answer));
      const meta = [!adding && d.entry_id ? `id ${d.entry_id}` : '', d.team ? `team ${d.team}` : '', `by ${d.author}`, dateTime(d.created)];
      const row = el('div', { class: 'd-row' });
      const reject = el('button', { type: 'button', class: 'reject' }, 'Reject');
      reject.addEventListener('click', () => rejectDraft(d, reject));
      row.append(el('span', { class: 'muted' }, meta.filter(Boolean).join(' · ')), reject);
      li.appendChild(row);
      list.appendChild(li);
    }
    $('drafts-count').textContent = String(drafts.length);
    $('drafts-empty').hidden = drafts.length > 0;
    $('btn-publish').disabled = drafts.length === 0;
  }

  async function rejectDraft(d, button) {
    button.disabled = true;
    try {
      await adminApi('POST', `/drafts/${encodeURIComponent(d.id)}/reject`, {});
      toast('Draft rejected.');
      await loadKnowledge();
    } catch (e) {
      button.disabled = false;
      if (e.status !== 401) toast(`Not rejected: ${e.message}`);
    }
  }

  $('btn-publish').addEventListener('click', async () => {
    const ids = [...document.querySelectorAll('#drafts-list input[type=checkbox]:checked')].map((c) => c.value);
    if (ids.length === 0) {
      publishResult('refused', 'Nothing to publish', [el('p', {}, 'Select the drafts to publish.')]);
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
      if (e.status !== 401) publishResult('refused', e.status === 409 ? 'Publish refused' : 'Not published', [el('p', {}, e.message)]);
    }
    $('btn-publish').disabled = false;
    if (!published) return;
    const v = published.version || {};
    const figures = el('table', { class: 'figures' });
    const row = (label, before, after) => {
      const tr = el('tr');
      tr.append(el('th', {}, label), el('td', {}, before), el('td', { 'aria-hidden': 'true' }, '→'), el('td', {}, after));
      return tr;
    };
    figures.append(
      row('Labelled questions', accuracy(published.labelled_accuracy_before), accuracy(v.labelled_accuracy)),
      row("The KB's own examples", accuracy(published.examples_accuracy_before), accuracy(v.examples_accuracy)),
    );
    publishResult('ok', `Published: version ${v.version} is live (${v.entries} entries)`, [
      figures,
      el('pre', { class: 'diff' }, published.diff || '(no change)'),
    ]);
    if (v.language) S.kb.language = v.language;
    await loadKnowledge();
  });

  function publishResult(kind, title, parts) {
    const out = $('publish-result');
    out.className = `publish-result ${kind}`;
    out.replaceChildren(el('h4', {}, title), ...parts);
    out.hidden = false;
  }

  function renderVersions(versions, perVersion) {
    const body = $('versions-body');
    body.replaceChildren();
    for (const v of [...versions].reverse()) {  // newest first
      const tr = el('tr', { 'data-version': v.version, class: v.current ? 'current' : '' });
      const name = el('td', { class: 'v-name' }, `v${v.version}`);
      if (v.current) name.appendChild(el('span', { class: 'tag state-agent' }, 'live'));
      const action = el('td');
      if (!v.current) {
        const back = el('button', { type: 'button', class: 'rollback' }, 'Rollback');
        back.addEventListener('click', () => rollback(v, back));
        action.appendChild(back);
      }
      tr.append(name, el('td', {}, dateTime(v.published)), el('td', { class: 'v-author' }, v.author || ''), el('td', {}, String(v.entries)),
        el('td', {}, accuracy(v.labelled_accuracy)), el('td', {}, accuracy(v.examples_accuracy)), action);
      body.appendChild(tr);
    }
    $('versions').hidden = versions.length === 0;
    $('versions-empty').hidden = versions.length > 0;
    // Did the publish help? The bot resolution rate of the conversations each version served.
    const rows = perVersion.map((p) => {
      const st = p.stats || {};
      const n = st.conversations || 0;
      return { label: `v${p.version} · ${n} ${n === 1 ? 'conversation' : 'conversations'}`, value: st.bot_resolution_rate || 0, max: 1, text: percent(st.bot_resolution_rate) };
    });
    $('version-chart').replaceChildren(chart('Bot resolution rate per KB version', hbars(rows, '#8250df'), rows.length === 0 ? 'No versions yet.' : null));
  }

  async function rollback(v, button) {
    button.disabled = true;
    try {
      const data = await adminApi('POST', '/kb/rollback', { language: v.language, version: v.version });
      toast(`Version ${v.version} is live again (recorded as version ${data.version.version}).`);
      await loadKnowledge();
    } catch (e) {
      button.disabled = false;
      if (e.status !== 401) toast(`Not rolled back: ${e.message}`);
    }
  }

  // ---- Start ----------------------------------------------------------------------------------------

  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (saved && saved.token) {
      Object.assign(S, { token: saved.token, desk: saved.desk, username: saved.username, presence: saved.presence || 'offline' });
    }
    S.admin = sessionStorage.getItem(ADMIN_KEY) || null;
  } catch {
    // no session
  }
  if (S.token) boot();
  else showLogin('');
})();
