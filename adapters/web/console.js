// kefu agent console (/console): plain JavaScript over the HTTP API (docs/api.md), no framework, no
// build step. Every text from the server is set with textContent, never parsed as HTML. The console
// is split by concept into files that share one namespace object, window.kefuConsole (`C` in each):
//
//   console_i18n.js       its words in English and Chinese, t(), the agent's choice of language
//   console.js            helpers, state, the API, login and session, presence, tabs, start (this file)
//   console_work.js       the queue, my conversations, the conversation view, composer, transfer,
//                         resolve, and teaching the KB from a conversation
//   console_live.js       live updates: the agent SSE stream read with fetch (it needs the
//                         Authorization header), resumed with Last-Event-ID, long polls as fallback
//   console_dashboard.js  the desk's figures as cards and inline SVG charts, the knowledge gaps
//   console_knowledge.js  the Knowledge tab (admin token): drafts, publish, versions, rollback
//
// console.html loads them in that order with `defer`; the console starts on DOMContentLoaded, when
// every file has run.
(() => {
  'use strict';

  const C = (window.kefuConsole = window.kefuConsole || {});
  const t = (key, vars) => C.t(key, vars);

  const SESSION_KEY = 'kefu.console';
  C.ADMIN_KEY = 'kefu.console.admin';  // the admin token: sessionStorage only, never localStorage
  const HEARTBEAT_MS = 30000;
  const DASH_REFRESH_MS = 15000;
  C.LONG_WAIT_SECONDS = 300;

  const $ = (C.$ = (id) => document.getElementById(id));

  // Builds an element; `text` goes through textContent.
  C.el = function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };

  const SVG_NS = 'http://www.w3.org/2000/svg';
  C.svgEl = function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };

  C.sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---- State ----------------------------------------------------------------------------------

  const S = (C.S = {
    token: null,
    desk: '',
    username: '',
    name: '',           // the agent's display name (the username when none)
    presence: 'offline',
    queue: [],
    mine: [],
    current: null,      // id of the conversation shown
    view: null,         // its agent view
    messages: new Map(),  // seq -> message of the conversation shown (re-rendered on a language switch)
    seen: new Map(),    // seq -> <li>
    lastSeq: 0,
    lastReplySeq: 0,    // the last agent reply shown: the answer of "Save as KB draft"
    loadToken: 0,       // guards against a slow load of a conversation no longer shown
    lastEventId: null,
    live: { gen: 0, abort: null, transport: 'sse', failures: 0, polls: 0, on: null },
    agents: new Map(),  // username -> {presence, name}, from presence events
    teams: new Set(),
    timers: [],
    scheduled: {},
    stats: null,        // the dashboard's figures, its gaps and when they came: {key, time | error}
    gaps: null,
    dashUpdated: null,
    suggestions: [],    // the KB's suggestions for the conversation shown
    used: null,         // the suggestion put in the reply box: {conversation, entry_id, answer, question}
    admin: null,        // the admin token, for the Knowledge tab
    kb: { language: '', languages: new Set(), drafts: [], versions: [], perVersion: [], result: null, load: 0 },
  });

  // ---- API ------------------------------------------------------------------------------------

  class ApiError extends Error {
    // `reason`: the server's word for which cause of a 409 it was (a claim: taken, yours, offline,
    // full, not_waiting), '' when it gave none.
    constructor(status, code, message, reason) {
      super(message);
      this.status = status;
      this.code = code;
      this.reason = reason || '';
    }
  }
  C.ApiError = ApiError;

  // `token` defaults to the agent's; the Knowledge tab passes the admin token.
  C.api = async function api(method, path, body, token = S.token) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'network', t('error.unreachable'));
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      if (res.status === 401 && token && token === S.token && path !== '/v1/agent/login') sessionEnded({ key: 'login.ended' });
      throw new ApiError(res.status, err.code || 'http', err.message || res.statusText, err.reason);
    }
    return data;
  };

  C.convPath = (id, suffix) => `/v1/agent/conversations/${encodeURIComponent(id)}${suffix || ''}`;
  C.adminPath = (suffix) => `/v1/admin/desks/${encodeURIComponent(S.desk)}${suffix}`;

  C.toast = function toast(text) {
    const box = $('toasts');
    const item = C.el('div', { class: 'toast' }, text);
    box.appendChild(item);
    setTimeout(() => item.remove(), 4000);
    while (box.childElementCount > 3) box.firstElementChild.remove();
  };

  // Runs `fn` once after a short pause, however often it is scheduled meanwhile.
  C.schedule = function schedule(name, fn, ms = 150) {
    if (S.scheduled[name]) return;
    S.scheduled[name] = setTimeout(() => {
      S.scheduled[name] = null;
      fn();
    }, ms);
  };

  // ---- Formatting -------------------------------------------------------------------------------

  C.customerLabel = function customerLabel(v) {
    const p = v && v.customer_profile;  // an identified customer's name from their signed identity
    if (p && p.name) return p.department ? `${p.name} (${p.department})` : String(p.name);
    const raw = String((v && v.customer) || '');
    const colon = raw.indexOf(':');
    const id = colon >= 0 ? raw.slice(colon + 1) : raw;
    if (/^[0-9a-f]{16,}$/.test(id)) return t('customer.visitor', { id: id.slice(0, 6) });
    return id || t('customer.unknown');
  };

  // The name people see for an agent: their display name, else the username.
  C.agentName = function agentName(username, name) {
    if (name) return String(name);
    if (!username) return '';
    if (username === S.username && S.name) return S.name;
    const known = S.agents.get(username);
    return (known && known.name) || String(username);
  };

  C.clock = function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
    return (h > 0 ? `${h}:` : '') + `${mm}:${String(s).padStart(2, '0')}`;
  };

  C.duration = function duration(seconds) {
    if (!Number.isFinite(seconds) || seconds <= 0) return '—';
    if (seconds < 10) return t('unit.seconds', { n: seconds.toFixed(1) });
    if (seconds < 60) return t('unit.seconds', { n: Math.round(seconds) });
    if (seconds < 3600) return t('unit.minutes', { n: (seconds / 60).toFixed(seconds < 600 ? 1 : 0) });
    return t('unit.hours', { n: (seconds / 3600).toFixed(1) });
  };

  C.percent = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '—');
  C.waitSeconds = (v) => (v.waiting_since ? (Date.now() * 1000 - v.waiting_since) / 1e6 : 0);
  C.timeOf = (micros) => new Date(Math.floor(micros / 1000)).toLocaleTimeString(C.locale(), { hour: '2-digit', minute: '2-digit' });
  C.nowTime = () => new Date().toLocaleTimeString(C.locale());
  C.truncate = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  // Unix seconds as a date and time; 0 is "since the start".
  C.dateTime = (seconds) => (seconds > 0
    ? new Date(seconds * 1000).toLocaleString(C.locale(), { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    : t('time.from_start'));
  C.accuracy = (x) => (Number.isFinite(x) && x >= 0 ? `${(x * 100).toFixed(1)}%` : '—');

  // ---- Login and session -------------------------------------------------------------------------

  function saveSession() {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: S.token, desk: S.desk, username: S.username, name: S.name, presence: S.presence }));
  }
  C.saveSession = saveSession;

  // `message`: {key} of the dictionary or {text} from the server; none for no message.
  function showLogin(message) {
    $('app').hidden = true;
    $('login-view').hidden = false;
    S.loginMessage = message || null;
    renderLoginMessage();
    const form = $('login-form');
    (form.elements.username.value ? form.elements.password : form.elements.username).focus();
  }

  function renderLoginMessage() {
    const m = S.loginMessage;
    $('login-error').hidden = !m;
    $('login-error').textContent = m ? m.text || t(m.key) : '';
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.currentTarget.elements;
    const button = e.currentTarget.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const data = await C.api('POST', '/v1/agent/login', {
        desk: f.desk.value.trim(),
        username: f.username.value.trim(),
        password: f.password.value,
      });
      S.token = data.token;
      S.desk = f.desk.value.trim();
      S.username = data.username || f.username.value.trim();
      S.name = data.name || S.username;
      S.presence = 'offline';
      f.password.value = '';
      saveSession();
      boot();
    } catch (err) {
      showLogin(err.status === 401 ? { key: 'login.wrong' } : { text: err.message });
    } finally {
      button.disabled = false;
    }
  });

  function sessionEnded(message) {
    C.stopLive();
    for (const timer of S.timers) clearInterval(timer);
    S.timers = [];
    S.token = null;
    S.current = null;
    S.admin = null;
    sessionStorage.removeItem(SESSION_KEY);
    sessionStorage.removeItem(C.ADMIN_KEY);
    showLogin(message);
  }
  C.sessionEnded = sessionEnded;

  $('logout').addEventListener('click', async () => {
    try {
      await C.api('POST', '/v1/agent/logout', {});
    } catch {
      // the session ends here anyway
    }
    sessionEnded(null);
  });

  function boot() {
    $('login-view').hidden = true;
    $('app').hidden = false;
    $('me-desk').textContent = S.desk;
    $('me-name').textContent = S.name || S.username;
    setPresenceUi(S.presence);
    if (S.presence !== 'offline') setPresence(S.presence);  // after a reload
    C.setLive(null);
    C.refreshAll();
    C.startLive();
    S.timers.push(setInterval(heartbeat, HEARTBEAT_MS));
    S.timers.push(setInterval(C.tick, 1000));
    S.timers.push(setInterval(() => { if (!$('dashboard').hidden) C.loadDashboard(); }, DASH_REFRESH_MS));
  }

  async function heartbeat() {
    if (!S.token) return;
    try {
      await C.api('POST', '/v1/agent/heartbeat', {});
      C.loadQueue();  // a safety net for a missed event
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
    $('mine-empty').textContent = t(status === 'online' ? 'mine.empty_online' : 'mine.empty_offline');
  }
  C.setPresenceUi = setPresenceUi;

  async function setPresence(status) {
    try {
      const data = await C.api('PUT', '/v1/agent/presence', { status });
      setPresenceUi(data.status);
      saveSession();
      C.loadQueue();
      C.loadMine();
    } catch (e) {
      C.toast(t('presence.failed', { error: e.message }));
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
    if (which === 'dash') C.loadDashboard();
    if (which === 'kb') C.loadKnowledge();
  }
  for (const [name, [tab]] of Object.entries(TABS)) $(tab).addEventListener('click', () => showTab(name));

  // ---- A language switch: what this file draws, drawn again ---------------------------------------

  C.onLanguage(() => {
    renderLoginMessage();
    if (!S.token) return;
    $('me-name').textContent = S.name || S.username;
    setPresenceUi(S.presence);
    C.setLive(S.live.on);
  });

  // ---- Start ----------------------------------------------------------------------------------------

  function start() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      if (saved && saved.token) {
        const { token, desk, username } = saved;
        Object.assign(S, { token, desk, username, name: saved.name || username, presence: saved.presence || 'offline' });
      }
      S.admin = sessionStorage.getItem(C.ADMIN_KEY) || null;
    } catch {
      // no session
    }
    C.applyLanguage();
    if (S.token) boot();
    else showLogin(null);
  }
  document.addEventListener('DOMContentLoaded', start);
})();
