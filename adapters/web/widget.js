// kefu's chat widget. One tag adds a chat bubble to any page:
//
//   <script src="https://KEFU-HOST/widget.js" data-desk="hr"></script>
//
// Attributes: data-desk (required), data-locale ("zh" or "en"; default: the page's lang, then the
// browser's), data-title (the panel's title), data-api (kefu's base URL; default: where this
// script came from), data-user-jwt (a signed-in employee or user: an HS256 JWT minted by the
// page's backend with the desk's app_secret, docs/channels.md). Plain JavaScript, no dependencies,
// no build step.
//
// Commands, for single-page apps (docs/web.md), through the global `kefu` function; calls made
// before this script loaded wait in `kefu.q` (the snippet in docs/web.md), later ones run at once:
//
//   kefu('identify', jwt[, desk])  the person signed in: start or resume their own conversation,
//                                  bringing along the anonymous one on this device
//   kefu('logout'[, desk])         the person signed out: forget their conversation on this device
//   kefu('open'[, desk]), kefu('close'[, desk])
//
// How it works (docs/web.md): the panel lives in a shadow DOM, so the host page's styles do not
// reach it and its styles do not leak out. The conversation id and customer token are kept in
// localStorage per desk, so a reload or a visit next week continues the conversation. Live updates
// come over SSE read with fetch (EventSource cannot send the Authorization header), resumed with
// Last-Event-ID after a drop, and fall back to the long-poll route when streaming does not work.
// A signed-in person's conversation is the server's: each page load resumes it with their JWT
// (on any device), and a JWT the server refuses (401: expired, wrongly signed) starts nothing
// anonymous and drops nothing: the widget says so and waits for a valid sign-in.
// Every text shown is set with textContent: nothing from the server or the customer is parsed as
// HTML.
(() => {
  'use strict';

  const script = document.currentScript;
  if (!script || !script.dataset.desk) {
    console.error('kefu widget: add data-desk="..." to the <script> tag');
    return;
  }
  const desk = script.dataset.desk;
  window.kefuWidget = window.kefuWidget || {};
  if (window.kefuWidget[desk]) return;  // the tag is on the page twice

  // ---- Configuration and UI text -------------------------------------------------------------

  const TEXT = {
    en: {
      title: 'Chat with us',
      subtitleBot: 'Our assistant answers right away',
      open: 'Open chat',
      close: 'Close chat',
      placeholder: 'Type your question…',
      send: 'Send',
      person: 'Talk to a person',
      leave: 'Never mind, leave the line',
      notHelpful: "This didn't help",
      feedbackSent: 'Thanks for telling us',
      bot: 'Assistant',
      you: 'You',
      agent: 'Agent',
      queued: (n) => `You are number ${n} in the queue`,
      queuedNoPosition: 'You are in the queue for a person',
      wait: (m) => (m <= 1 ? 'Expected wait: about a minute' : `Expected wait: about ${m} minutes`),
      waitUnknown: 'No one is online right now. We will reply here as soon as someone is in.',
      closed: 'We are closed right now. We will reply here when we are back.',
      withAgent: (name) => `${name} is helping you`,
      waiting: 'Waiting for a person',
      resolved: 'This conversation is resolved. Write again any time.',
      rateAsk: 'How did we do?',
      rateStar: (n) => `Rate ${n} out of 5`,
      rateThanks: 'Thank you for your rating!',
      sending: 'Sending…',
      failed: 'Not sent.',
      retry: 'Retry',
      reconnecting: 'Reconnecting…',
      unavailable: 'The chat is unavailable right now. Please try again later.',
      busy: 'Too many requests. Please wait a moment.',
      links: 'Links',
      unread: (n) => `${n} new`,
      identityRefused: 'We could not confirm that you are signed in (your sign-in may have expired). ' +
        'Reload the page or sign in again to continue your conversation; nothing in it is lost.',
    },
    zh: {
      title: '在线客服',
      subtitleBot: '智能助手即时回答',
      open: '打开客服对话',
      close: '关闭对话',
      placeholder: '请输入您的问题…',
      send: '发送',
      person: '转人工',
      leave: '不用了，退出排队',
      notHelpful: '没有帮助',
      feedbackSent: '感谢您的反馈',
      bot: '智能助手',
      you: '我',
      agent: '客服',
      queued: (n) => `您正在排队，您是第 ${n} 位`,
      queuedNoPosition: '您正在排队等待人工客服',
      wait: (m) => `预计等待约 ${Math.max(1, m)} 分钟`,
      waitUnknown: '现在没有客服在线，有人上线后会在这里回复您。',
      closed: '现在是非工作时间，我们上班后会在这里回复您。',
      withAgent: (name) => `${name} 正在为您服务`,
      waiting: '正在等待人工客服',
      resolved: '本次会话已结束，随时可以再次提问。',
      rateAsk: '请为本次服务评分',
      rateStar: (n) => `${n} 分（满分 5 分）`,
      rateThanks: '感谢您的评价！',
      sending: '发送中…',
      failed: '发送失败。',
      retry: '重试',
      reconnecting: '正在重新连接…',
      unavailable: '客服暂时不可用，请稍后再试。',
      busy: '请求过于频繁，请稍候。',
      links: '相关链接',
      unread: (n) => `${n} 条新消息`,
      identityRefused: '无法确认您的登录身份（登录可能已过期）。请刷新页面或重新登录后继续对话，之前的对话内容不会丢失。',
    },
  };

  function pickLocale(tag) {
    return String(tag || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  }

  const locale = pickLocale(script.dataset.locale || document.documentElement.lang || navigator.language);
  const t = TEXT[locale];
  const apiBase = (script.dataset.api || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  const title = script.dataset.title || t.title;
  const storageKey = `kefu.widget.${desk}`;
  const startPath = `/v1/desks/${encodeURIComponent(desk)}/conversations`;

  // ---- Small helpers ---------------------------------------------------------------------------

  // Builds an element; `text` goes through textContent (never parsed as HTML).
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

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function randomId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return 'w-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // Only http(s) links become anchors: a KB link can never run script (javascript:, data:).
  function safeUrl(url) {
    try {
      const u = new URL(url, location.href);
      return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
    } catch {
      return null;
    }
  }

  function formatTime(micros) {
    const d = new Date(Math.floor(Number(micros) / 1000));
    return Number.isFinite(d.getTime())
      ? d.toLocaleTimeString(locale === 'zh' ? 'zh-CN' : 'en', { hour: '2-digit', minute: '2-digit' })
      : '';
  }

  // The `sub` claim of a JWT, read without verifying it (the server verifies): only to tell whether
  // the conversation kept on this device is this person's. "" when unreadable.
  function subjectOf(jwt) {
    try {
      const part = String(jwt).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(part + '='.repeat((4 - (part.length % 4)) % 4)), (c) => c.charCodeAt(0));
      const sub = JSON.parse(new TextDecoder().decode(bytes)).sub;
      return typeof sub === 'string' ? sub : '';
    } catch {
      return '';
    }
  }

  // The conversation kept on this device: {id, token, open, user} (`user`: the signed-in person's
  // sub, "" for an anonymous visitor).
  function loadSaved() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || 'null');
      if (saved && typeof saved.id === 'string' && typeof saved.token === 'string') {
        if (typeof saved.user !== 'string') saved.user = '';
        return saved;
      }
    } catch {
      // storage unavailable or corrupt: start afresh
    }
    return null;
  }

  function save() {
    try {
      localStorage.setItem(storageKey,
        JSON.stringify({ id: state.conv.id, token: state.conv.token, open: state.open, user: state.conv.user || '' }));
    } catch {
      // private mode: the conversation lasts as long as the page
    }
  }

  function forget() {
    try {
      localStorage.removeItem(storageKey);
    } catch {
      // nothing kept
    }
  }

  class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (state.conv && path !== startPath) headers.Authorization = `Bearer ${state.conv.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(apiBase + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'network', e.message);
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(res.status, err.code || 'http', err.message || res.statusText, res.headers.get('Retry-After'));
    }
    return data;
  }

  const convPath = (suffix) => `/v1/conversations/${encodeURIComponent(state.conv.id)}${suffix || ''}`;

  // ---- State -----------------------------------------------------------------------------------

  const state = {
    conv: null,          // {id, token, user}: user is the signed-in person's sub, "" when anonymous
    identity: null,      // {jwt, sub} of data-user-jwt or kefu('identify'), null when anonymous
    refused: false,      // the server refused the identity (401): nothing can be sent until a new one
    view: null,          // the conversation view (docs/api.md "Conversation")
    seen: new Map(),     // seq -> rendered element
    lastSeq: 0,
    open: false,
    ready: false,        // history loaded
    starting: null,      // the promise of ensureConversation
    unread: 0,
    live: { gen: 0, abort: null, transport: 'sse', failures: 0, polls: 0 },
    thanking: false,     // the rating row shows its thanks
    feedbackGiven: new Set(),
    viewRefresh: null,
  };

  // ---- DOM: the shadow root ------------------------------------------------------------------------

  const host = document.createElement('kefu-widget');
  host.setAttribute('data-desk', desk);
  const root = host.attachShadow({ mode: 'open' });
  const css = CSS_TEXT();
  if ('adoptedStyleSheets' in Document.prototype && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(el('style', {}, css));  // older browsers (a strict page CSP may refuse it)
  }

  const wrap = el('div', { class: 'kefu', lang: locale === 'zh' ? 'zh-CN' : 'en' });
  const bubble = el('button', { class: 'bubble', type: 'button', 'aria-label': t.open, 'aria-expanded': 'false' });
  bubble.appendChild(bubbleIcon());
  const badge = el('span', { class: 'badge', hidden: true });
  bubble.appendChild(badge);

  const panel = el('section', { class: 'panel', role: 'dialog', 'aria-label': title, hidden: true });
  const header = el('header', { class: 'head' });
  const headText = el('div', { class: 'head-text' });
  const headTitle = el('div', { class: 'title' }, title);
  const headStatus = el('div', { class: 'status' }, t.subtitleBot);
  headText.append(headTitle, headStatus);
  const closeBtn = el('button', { class: 'close', type: 'button', 'aria-label': t.close }, '×');
  header.append(headText, closeBtn);

  const banner = el('div', { class: 'banner', role: 'status', hidden: true });
  const conn = el('div', { class: 'conn', role: 'status', hidden: true }, t.reconnecting);
  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite' });
  const list = el('div', { class: 'list' });
  const pendingList = el('div', { class: 'pending' });
  log.append(list, pendingList);

  const rate = el('div', { class: 'rate', hidden: true });
  const rateLabel = el('div', { class: 'rate-label' }, t.rateAsk);
  const stars = el('div', { class: 'stars', role: 'group', 'aria-label': t.rateAsk });
  for (let n = 1; n <= 5; n++) {
    const star = el('button', { class: 'star', type: 'button', 'data-rating': n, 'aria-label': t.rateStar(n) }, '★');
    star.addEventListener('click', () => sendRating(n));
    stars.appendChild(star);
  }
  rate.append(rateLabel, stars);

  const errorLine = el('div', { class: 'error', role: 'alert', hidden: true });
  const actions = el('div', { class: 'actions' });
  const personBtn = el('button', { class: 'person', type: 'button' }, t.person);
  actions.appendChild(personBtn);

  const form = el('form', { class: 'composer' });
  const input = el('textarea', { class: 'input', rows: 1, placeholder: t.placeholder, 'aria-label': t.placeholder, maxlength: 2000 });
  const sendBtn = el('button', { class: 'send', type: 'submit', 'aria-label': t.send }, t.send);
  form.append(input, sendBtn);

  panel.append(header, banner, conn, log, rate, errorLine, actions, form);
  wrap.append(panel, bubble);
  root.appendChild(wrap);

  function bubbleIcon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
    svg.appendChild(path);
    return svg;
  }

  // ---- Rendering --------------------------------------------------------------------------------

  // The log stays pinned to its end while the customer has not scrolled up, also when its height
  // changes (the queue banner, the rating row, a phone's keyboard).
  let pinned = true;
  function scrollToEnd() {
    pinned = true;
    log.scrollTop = log.scrollHeight;
  }
  log.addEventListener('scroll', () => {
    pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  });
  if (typeof ResizeObserver === 'function') {
    new ResizeObserver(() => {
      if (pinned) log.scrollTop = log.scrollHeight;
    }).observe(log);
  }

  function authorName(m) {
    if (m.author_name) return m.author_name;  // the agent's display name when they wrote
    const v = state.view;
    if (v && v.assignee && v.assignee === m.author && v.assignee_name) return v.assignee_name;
    return m.author || t.agent;
  }

  // A system message's text, its ticket numbers ("HR-1001") kept on one line: a hyphen is a
  // place to wrap, and "HR-" at a line's end with "1001" below reads as two things.
  function systemText(text) {
    const box = el('div', { class: 'text' });
    String(text).split(/([A-Z][A-Z0-9]*-\d+)/).forEach((part, i) => {
      if (part) box.appendChild(i % 2 ? el('span', { class: 'ticket' }, part) : document.createTextNode(part));
    });
    return box;
  }

  function renderMessage(m) {
    const kind = ['customer', 'bot', 'agent', 'system'].includes(m.kind) ? m.kind : 'system';
    const item = el('div', { class: `msg msg-${kind}`, 'data-seq': m.seq, 'data-kind': kind });
    if (kind === 'bot' || kind === 'agent') {
      item.appendChild(el('div', { class: 'who' }, kind === 'bot' ? t.bot : authorName(m)));
    }
    const text = kind === 'system' ? systemText(m.text || '') : el('div', { class: 'text' }, m.text || '');
    text.title = formatTime(m.at);
    item.appendChild(text);

    if (Array.isArray(m.links) && m.links.length > 0) {
      const links = el('ul', { class: 'links', 'aria-label': t.links });
      for (const link of m.links) {
        const href = safeUrl(link && link.url);
        if (!href) continue;
        const li = el('li');
        li.appendChild(el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, link.title || href));
        links.appendChild(li);
      }
      if (links.childElementCount > 0) item.appendChild(links);
    }
    if (Array.isArray(m.choices) && m.choices.length > 0) {
      const choices = el('div', { class: 'choices' });
      for (const c of m.choices) {
        if (!c || !c.title) continue;
        const b = el('button', { class: c.entry_id ? 'choice clarify' : 'choice', type: 'button' }, c.title);
        if (c.entry_id) b.dataset.entry = c.entry_id;
        b.addEventListener('click', () => send(c.title, c.entry_id || ''));
        choices.appendChild(b);
      }
      item.appendChild(choices);
    }
    if (kind === 'bot' && m.entry_id) {
      const fb = el('button', { class: 'feedback', type: 'button' }, t.notHelpful);
      if (state.feedbackGiven.has(m.seq)) markFeedback(fb);
      fb.addEventListener('click', () => giveFeedback(m.seq, fb));
      item.appendChild(fb);
    }
    return item;
  }

  function markFeedback(button) {
    button.disabled = true;
    button.textContent = t.feedbackSent;
  }

  // Adds messages not shown yet, in seq order. Returns how many were new.
  function addMessages(messages) {
    let added = 0;
    for (const m of messages || []) {
      if (!m || !Number.isSafeInteger(m.seq) || state.seen.has(m.seq) || m.kind === 'note') continue;
      const item = renderMessage(m);
      state.seen.set(m.seq, item);
      let before = null;
      for (const other of list.children) {
        if (Number(other.dataset.seq) > m.seq) {
          before = other;
          break;
        }
      }
      list.insertBefore(item, before);
      state.lastSeq = Math.max(state.lastSeq, m.seq);
      if (m.kind === 'customer' && m.client_msg_id) removePending(m.client_msg_id);
      if (!state.open && state.ready && m.kind !== 'customer') state.unread++;
      added++;
    }
    if (added > 0) {
      updateBadge();
      scrollToEnd();
    }
    return added;
  }

  function updateBadge() {
    badge.hidden = state.unread === 0;
    badge.textContent = state.unread > 9 ? '9+' : String(state.unread);
    bubble.setAttribute('aria-label', state.unread > 0 ? `${t.open} (${t.unread(state.unread)})` : t.open);
  }

  function showError(message) {
    errorLine.hidden = !message;
    errorLine.textContent = message || '';
  }

  function errorText(e) {
    if (e && e.status === 429) return t.busy;
    if (e && e.status === 400 && e.message) return e.message;
    return t.unavailable;
  }

  // The conversation view drives the header, the queue banner, the rating row and the buttons.
  function applyView(view) {
    if (!view) return;
    state.view = view;
    const s = view.state;
    if (s === 'agent' && view.assignee_name) headStatus.textContent = t.withAgent(view.assignee_name);
    else if (s === 'queued') headStatus.textContent = t.waiting;
    else if (s === 'resolved') headStatus.textContent = t.resolved;
    else headStatus.textContent = t.subtitleBot;
    panel.dataset.state = s;

    banner.replaceChildren();
    if (s === 'queued') {
      const q = view.queue || {};
      const lines = [];
      lines.push(q.position > 0 ? t.queued(q.position) : t.queuedNoPosition);
      if (q.desk_open === false) lines.push(t.closed);
      else if (q.expected_wait_seconds === null || q.expected_wait_seconds === undefined) lines.push(t.waitUnknown);
      else lines.push(t.wait(Math.ceil(q.expected_wait_seconds / 60)));
      banner.appendChild(el('strong', { class: 'queue-position' }, lines[0]));
      banner.appendChild(el('span', { class: 'queue-wait' }, lines[1]));
      const leave = el('button', { class: 'leave', type: 'button' }, t.leave);
      leave.addEventListener('click', async () => {
        leave.disabled = true;
        if (!(await turn('/handoff', undefined, 'DELETE'))) leave.disabled = false;
      });
      banner.appendChild(leave);
      banner.hidden = false;
      // A state event may arrive before the queue has placed the customer: ask once more.
      if (!(q.position > 0)) refreshViewSoon();
    } else {
      banner.hidden = true;
    }

    personBtn.hidden = s === 'queued' || s === 'agent';
    showRefused();
    if (!state.thanking) {
      rate.hidden = !view.can_rate;
      rateLabel.textContent = t.rateAsk;
      for (const b of stars.children) {
        b.disabled = false;
        b.classList.remove('on');
      }
    }
    syncLive();
  }

  function refreshViewSoon() {
    if (state.viewRefresh) return;
    state.viewRefresh = setTimeout(async () => {
      state.viewRefresh = null;
      try {
        const data = await api('GET', convPath());
        if (data.conversation.state === 'queued' && !(data.conversation.queue && data.conversation.queue.position > 0)) return;
        applyView(data.conversation);
      } catch {
        // the next live event brings the view
      }
    }, 400);
  }

  // ---- Conversation ------------------------------------------------------------------------------

  // Restores the saved conversation, or starts one. Safe to call repeatedly.
  function ensureConversation() {
    if (state.ready) return Promise.resolve();
    if (!state.starting) {
      state.starting = startOrRestore().finally(() => {
        state.starting = null;
      });
    }
    return state.starting;
  }

  async function startOrRestore() {
    let saved = loadSaved();
    const who = state.identity;
    if (saved && saved.user && (!who || who.sub !== saved.user)) {
      // A signed-in person's conversation opens only for them (a shared computer, a public page
      // after signing out); it stays theirs on the server.
      forget();
      saved = null;
    }
    // This device's own conversation continues with its token (for a signed-in person, the token
    // their earlier sign-in got here); anything else starts through the start route.
    if (saved && saved.user === (who ? who.sub : '') && (await restore(saved))) return;
    if (who) return startIdentified(saved && !saved.user ? saved : null);
    const data = await api('POST', startPath, { channel: 'web', locale });
    state.conv = { id: data.conversation_id, token: data.customer_token, user: '' };
    save();
    addMessages(data.messages);
    state.ready = true;
    applyView(data.conversation);
  }

  // Loads the saved conversation; false when the server no longer knows it (forgotten here).
  async function restore(saved) {
    state.conv = { id: saved.id, token: saved.token, user: saved.user };
    try {
      const data = await api('GET', convPath());
      await loadHistory();
      state.ready = true;
      applyView(data.conversation);
      return true;
    } catch (e) {
      state.conv = null;
      if (e.status !== 401 && e.status !== 404) throw e;
      forget();  // the conversation is gone (another server, deleted data): start a new one
      return false;
    }
  }

  // Starts or resumes the signed-in person's own conversation. `anonymous`: the anonymous
  // conversation of this device ({id, token}) to bring along (the server's link_token), or null.
  // A 401 leaves everything as it was and shows why (state.refused); other errors are thrown.
  async function startIdentified(anonymous) {
    const who = state.identity;
    const customer = { jwt: who.jwt };
    if (anonymous) customer.link_token = anonymous.token;
    let data;
    try {
      data = await api('POST', startPath, { channel: 'web', locale, customer });
    } catch (e) {
      if (e.status === 401 && state.identity === who) {
        state.refused = true;
        showRefused();
      }
      throw e;
    }
    if (state.identity !== who) return;  // another identify() meanwhile: it starts anew
    if (state.refused) showError('');
    state.refused = false;
    showRefused();
    if (!state.conv || state.conv.id !== data.conversation_id) clearLog();
    state.conv = { id: data.conversation_id, token: data.customer_token, user: who.sub };
    save();
    addMessages(data.messages);
    await loadHistory();
    state.ready = true;
    applyView(data.conversation);
    showRefused();
  }

  // Forgets the messages shown (another conversation takes the panel).
  function clearLog() {
    stopLive();
    list.replaceChildren();
    state.seen.clear();
    state.lastSeq = 0;
    state.view = null;
    state.unread = 0;
    updateBadge();
  }

  // While the identity is refused the composer is off and the reason stays in view.
  function showRefused() {
    for (const c of [input, sendBtn, personBtn]) c.disabled = state.refused && !state.ready;
    if (state.refused) showError(t.identityRefused);
  }

  // kefu('identify', jwt): the person signed in (or their JWT was renewed). An anonymous
  // conversation of this page becomes theirs at once; otherwise theirs starts when the panel opens.
  async function identify(jwt) {
    if (typeof jwt !== 'string' || jwt.split('.').length !== 3) {
      console.error('kefu widget: identify needs the JWT (a string header.payload.signature)');
      return;
    }
    const sub = subjectOf(jwt);
    const before = state.identity;
    state.identity = { jwt, sub };
    if (before && before.sub === sub && !state.refused) return;  // the same person: the JWT serves the next start
    if (state.starting) await state.starting.catch(() => {});
    if (!state.identity || state.identity.jwt !== jwt) return;  // superseded meanwhile
    if (state.conv && state.conv.user && state.conv.user !== sub) {
      // Someone else signed in on this page: the previous person's conversation leaves the panel.
      forget();
      clearLog();
      state.conv = null;
      state.ready = false;
    }
    const anonymous = state.conv && !state.conv.user ? state.conv : null;
    state.refused = false;
    showRefused();
    if (!anonymous && !state.open) return;
    const run = startIdentified(anonymous);  // meanwhile the anonymous conversation goes on
    state.starting = run;
    try {
      await run;
      showError('');
    } catch (e) {
      // Refused or unreachable: the anonymous conversation of this page goes on as it was.
      showError(state.refused ? t.identityRefused : errorText(e));
      showRefused();
    } finally {
      if (state.starting === run) state.starting = null;
    }
    syncLive();
  }

  // kefu('logout'): the person signed out; their conversation stays theirs on the server.
  function logout() {
    state.identity = null;
    state.refused = false;
    forget();
    clearLog();
    state.conv = null;
    state.ready = false;
    showRefused();
    showError('');
    applyView({ state: 'new' });
    if (state.open) ensureConversation().catch((e) => showError(errorText(e)));
  }

  async function loadHistory() {
    const pageSize = 1000;
    for (;;) {
      const data = await api('GET', convPath(`/messages?after=${state.lastSeq}&limit=${pageSize}`));
      const messages = data.messages || [];
      addMessages(messages);
      if (messages.length < pageSize) return;
    }
  }

  // ---- Sending (client_msg_id makes retries safe) ---------------------------------------------

  function removePending(clientId) {
    for (const p of pendingList.children) {
      if (p.dataset.client === clientId) p.remove();
    }
  }

  function send(text, choice) {
    text = String(text || '').trim();
    if (!text) return;
    const item = { clientId: randomId(), text, choice: choice || '' };
    item.el = el('div', { class: 'msg msg-customer is-pending', 'data-client': item.clientId, 'data-kind': 'customer' });
    item.el.appendChild(el('div', { class: 'text' }, text));
    item.status = el('div', { class: 'note' }, t.sending);
    item.el.appendChild(item.status);
    pendingList.appendChild(item.el);
    scrollToEnd();
    deliver(item);
  }

  async function deliver(item) {
    item.status.replaceChildren(t.sending);
    item.el.classList.remove('is-failed');
    let lastError = null;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await ensureConversation();
        const body = { text: item.text, client_msg_id: item.clientId };
        if (item.choice) body.choice = item.choice;
        const data = await api('POST', convPath('/messages'), body);
        item.el.remove();
        addMessages(data.messages);
        applyView(data.conversation);
        showError('');
        return;
      } catch (e) {
        lastError = e;
        const retryable = e.status === 0 || e.status >= 500 || e.status === 429;
        if (!retryable) break;
        const after = Number(e.retryAfter) > 0 ? Number(e.retryAfter) * 1000 : 500 * 2 ** attempt;
        await sleep(Math.min(after, 8000));
      }
    }
    item.el.classList.add('is-failed');
    const retry = el('button', { class: 'retry', type: 'button' }, t.retry);
    retry.addEventListener('click', () => deliver(item));  // the same client_msg_id: answered once
    item.status.replaceChildren(`${t.failed} `, retry);
    showError(lastError && lastError.status === 400 ? lastError.message : '');
  }

  // Runs one customer action that answers like the messages route.
  async function turn(path, body, method = 'POST') {
    try {
      await ensureConversation();
      const data = await api(method, convPath(path), body);
      addMessages(data.messages);
      applyView(data.conversation);
      showError('');
      return true;
    } catch (e) {
      showError(errorText(e));
      return false;
    }
  }

  async function giveFeedback(seq, button) {
    button.disabled = true;
    if (await turn('/feedback', { message_seq: seq, helpful: false })) {
      state.feedbackGiven.add(seq);
      markFeedback(button);
    } else {
      button.disabled = false;
    }
  }

  async function sendRating(n) {
    for (const b of stars.children) b.disabled = true;
    try {
      const data = await api('POST', convPath('/csat'), { rating: n });
      // The thanks stay a moment, whatever live events arrive meanwhile.
      state.thanking = true;
      for (const b of stars.children) b.classList.toggle('on', Number(b.dataset.rating) <= n);
      rateLabel.textContent = t.rateThanks;
      setTimeout(() => {
        state.thanking = false;
        applyView(state.view && state.view.last_seq > data.conversation.last_seq ? state.view : data.conversation);
      }, 3000);
    } catch (e) {
      if (e.status === 409) {
        rate.hidden = true;  // already rated (another tab)
      } else {
        for (const b of stars.children) b.disabled = false;
        showError(errorText(e));
      }
    }
  }

  // ---- Live updates: SSE over fetch, then long polls ---------------------------------------------

  function wantLive() {
    if (!state.ready || !state.conv) return false;
    const s = state.view && state.view.state;
    return state.open || s === 'queued' || s === 'agent';
  }

  function syncLive() {
    if (wantLive()) {
      if (!state.live.abort) startLive();
    } else {
      stopLive();
    }
  }

  function stopLive() {
    const live = state.live;
    if (!live.abort) return;
    live.gen++;
    live.abort.abort();
    live.abort = null;
  }

  function startLive() {
    const live = state.live;
    const gen = ++live.gen;
    live.abort = new AbortController();
    liveLoop(gen).catch(() => {});
  }

  function handleLive(type, data) {
    if (type === 'message') {
      addMessages([data]);
    } else if (type === 'state' || type === 'queue') {
      applyView(data);
    }
  }

  async function liveLoop(gen) {
    const live = state.live;
    let retryMs = 3000;
    const sseOk = typeof ReadableStream === 'function' && typeof TextDecoderStream === 'function';
    if (!sseOk) live.transport = 'poll';
    while (live.gen === gen) {
      const signal = live.abort.signal;
      const started = Date.now();
      try {
        if (live.transport === 'sse') {
          await readSse(signal, (ms) => (retryMs = ms));
        } else {
          await pollOnce(signal);
        }
        live.failures = 0;
        conn.hidden = true;
        if (live.transport === 'poll') {
          // Now and then, try the stream again (the failure may have been a restart of kefu).
          if (++live.polls >= 10) {
            live.polls = 0;
            live.transport = 'sse';
          }
          continue;  // the next long poll at once
        }
      } catch (e) {
        if (live.gen !== gen || signal.aborted) return;
        if (e.status === 401 || e.status === 404) {
          // The conversation is no longer ours (its data is gone): start afresh when asked.
          forget();
          state.ready = false;
          state.conv = null;
          live.abort = null;
          return;
        }
        live.failures++;
        // A stream that fails twice at once (a proxy that buffers or blocks it): long polls from now on.
        if (live.transport === 'sse' && live.failures >= 2 && Date.now() - started < 10000) live.transport = 'poll';
        // Only a failure of the fallback too is worth telling the customer about.
        conn.hidden = live.failures < 3;
      }
      if (live.gen !== gen) return;
      // First retry soon, then back off exponentially (with jitter) up to 30 s.
      const backoff = live.failures <= 1 ? 1000 : Math.min(30000, retryMs * 2 ** (live.failures - 2));
      await sleep(live.failures === 0 ? retryMs : backoff * (0.75 + Math.random() / 2));
    }
  }

  // Reads one SSE response to its end. Messages are resumed after the last seq shown.
  async function readSse(signal, setRetry) {
    const headers = { Authorization: `Bearer ${state.conv.token}`, Accept: 'text/event-stream' };
    if (state.lastSeq > 0) headers['Last-Event-ID'] = String(state.lastSeq);
    const res = await fetch(apiBase + convPath('/events'), { headers, signal, cache: 'no-store', credentials: 'omit' });
    if (!res.ok || !res.body) throw new ApiError(res.status, 'http', res.statusText);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    // No bytes for longer than two heartbeats: the connection is dead.
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => reader.cancel().catch(() => {}), 35000);
    };
    arm();
    let buffer = '';
    let event = { type: 'message', data: [] };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        conn.hidden = true;
        state.live.failures = 0;
        buffer += value;
        const lines = buffer.split(/\r\n|\r|\n/);
        buffer = lines.pop();
        for (const line of lines) {
          if (line === '') {
            if (event.data.length > 0) {
              try {
                handleLive(event.type, JSON.parse(event.data.join('\n')));
              } catch {
                // a malformed event is skipped
              }
            }
            event = { type: 'message', data: [] };
          } else if (line.startsWith(':')) {
            // heartbeat
          } else {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event.type = value;
            else if (field === 'data') event.data.push(value);
            else if (field === 'retry' && /^\d+$/.test(value)) setRetry(Number(value));
          }
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  async function pollOnce(signal) {
    const res = await fetch(apiBase + convPath(`/poll?after=${state.lastSeq}&timeout=25`), {
      headers: { Authorization: `Bearer ${state.conv.token}`, Accept: 'application/json' },
      signal,
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!res.ok) throw new ApiError(res.status, 'http', res.statusText);
    const data = await res.json();
    addMessages(data.messages);
    applyView(data.conversation);
  }

  // ---- Opening and closing -----------------------------------------------------------------------

  async function openPanel() {
    if (state.open) return;
    state.open = true;
    panel.hidden = false;
    wrap.classList.add('is-open');
    bubble.setAttribute('aria-expanded', 'true');
    state.unread = 0;
    updateBadge();
    if (state.conv) save();
    try {
      await ensureConversation();
      save();
      showError('');
    } catch (e) {
      showError(state.refused ? t.identityRefused : errorText(e));
    }
    syncLive();
    scrollToEnd();
    input.focus();
  }

  function closePanel() {
    if (!state.open) return;
    state.open = false;
    panel.hidden = true;
    wrap.classList.remove('is-open');
    bubble.setAttribute('aria-expanded', 'false');
    if (state.conv) save();
    syncLive();
    bubble.focus();
  }

  bubble.addEventListener('click', () => (state.open ? closePanel() : openPanel()));
  closeBtn.addEventListener('click', closePanel);
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closePanel();
  });
  personBtn.addEventListener('click', async () => {
    personBtn.disabled = true;
    await turn('/handoff', {});
    personBtn.disabled = false;
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value;
    input.value = '';
    autosize();
    send(text, '');
    input.focus();
  });
  input.addEventListener('keydown', (e) => {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition is neither.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  }
  input.addEventListener('input', autosize);

  function mount() {
    document.body.appendChild(host);
    if (script.dataset.userJwt) {
      state.identity = { jwt: script.dataset.userJwt, sub: subjectOf(script.dataset.userJwt) };
    }
    runQueuedCommands();
    const saved = loadSaved();
    if (!saved) return;
    // Someone else's conversation, or a signed-in person's on a page without their sign-in: not restored.
    if (saved.user && (!state.identity || state.identity.sub !== saved.user)) {
      forget();
      return;
    }
    // A returning customer: restore quietly (unread badge, live replies while queued or served).
    if (saved.open) {
      openPanel();
    } else {
      ensureConversation().catch(() => {});
    }
  }

  // ---- The global command function: kefu('identify', jwt), ... ---------------------------------

  const commands = { identify, logout, open: openPanel, close: closePanel };

  function runCommand(args) {
    const [name, ...rest] = Array.from(args);
    const command = commands[name];
    if (!command) {
      console.error(`kefu widget: unknown command ${JSON.stringify(name)}`);
      return;
    }
    // The desk is the last argument when given (identify's JWT comes first).
    const target = name === 'identify' ? rest[1] : rest[0];
    if (target !== undefined && target !== desk) return;
    Promise.resolve(command(...(name === 'identify' ? [rest[0]] : []))).catch(() => {});
  }

  // Calls made before the script loaded (kefu.q) run once, in order, for every widget of the page.
  function runQueuedCommands() {
    const queued = (window.kefu && window.kefu.q) || [];
    for (const args of queued) runCommand(args);
  }

  window.kefuWidget[desk] = { open: openPanel, close: closePanel, identify, logout, run: runCommand };
  if (!window.kefu || !window.kefu.isWidget) {
    const queued = (window.kefu && window.kefu.q) || [];
    const kefu = (...args) => {
      for (const w of Object.values(window.kefuWidget)) if (w && w.run) w.run(args);
    };
    kefu.q = queued;  // kept for a widget of another desk that loads later
    kefu.isWidget = true;
    window.kefu = kefu;
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });

  // ---- Styles (adopted into the shadow root; nothing reaches the host page) ---------------------

  function CSS_TEXT() {
    return `
:host { all: initial; }
.kefu {
  --kefu-accent: #1f6feb; --kefu-accent-ink: #fff; --kefu-bg: #fff; --kefu-ink: #1c2128;
  --kefu-muted: #59636e; --kefu-line: #d8dee4; --kefu-soft: #f1f4f8;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
    "PingFang SC", "Microsoft YaHei", sans-serif;
  color: var(--kefu-ink);
  -webkit-font-smoothing: antialiased;
}
.kefu *, .kefu *::before, .kefu *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; cursor: pointer; }
button:disabled { cursor: default; opacity: .6; }
button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 2px solid var(--kefu-accent); outline-offset: 2px; }
.bubble {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  width: 60px; height: 60px; border-radius: 50%; border: 0; padding: 0;
  background: var(--kefu-accent); color: var(--kefu-accent-ink);
  box-shadow: 0 6px 20px rgba(0,0,0,.22); display: grid; place-items: center;
}
.bubble svg { width: 28px; height: 28px; fill: currentColor; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #d1242f; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 22px; text-align: center;
}
.panel {
  position: fixed; right: 20px; bottom: 92px; z-index: 2147483000;
  width: 380px; height: min(640px, calc(100vh - 112px));
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--kefu-bg); border: 1px solid var(--kefu-line); border-radius: 14px;
  box-shadow: 0 12px 40px rgba(0,0,0,.22);
}
.head { display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px; background: var(--kefu-accent); color: var(--kefu-accent-ink); }
.head-text { flex: 1; min-width: 0; }
.title { font-weight: 700; font-size: 16px; }
.status { font-size: 13px; opacity: .9; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.close { border: 0; background: transparent; color: inherit; font-size: 26px; line-height: 1; width: 36px; height: 36px; border-radius: 8px; }
.close:hover { background: rgba(255,255,255,.15); }
.ticket { white-space: nowrap; }
.banner { display: flex; flex-direction: column; gap: 2px; padding: 8px 16px; background: #fff8c5; border-bottom: 1px solid #eed888; font-size: 13px; }
.panel[data-state="agent"] .banner { background: #dafbe1; border-color: #aceebb; }
.conn { padding: 4px 16px; background: var(--kefu-soft); color: var(--kefu-muted); font-size: 12px; }
.log { flex: 1; overflow-y: auto; padding: 14px 12px; background: var(--kefu-soft); overscroll-behavior: contain; }
.list, .pending { display: flex; flex-direction: column; gap: 10px; }
.pending:not(:empty) { margin-top: 10px; }
.msg { max-width: 85%; display: flex; flex-direction: column; gap: 6px; align-self: flex-start; }
.msg .text {
  padding: 9px 12px; border-radius: 14px; background: #fff; border: 1px solid var(--kefu-line);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.msg-customer { align-self: flex-end; }
.msg-customer .text { background: var(--kefu-accent); color: var(--kefu-accent-ink); border-color: var(--kefu-accent); }
.msg-agent .text { border-color: #8ddb9e; }
.msg-system { align-self: center; max-width: 92%; }
.msg-system .text { background: transparent; border: 0; color: var(--kefu-muted); font-size: 13px; text-align: center; padding: 2px 8px; }
.who { font-size: 12px; color: var(--kefu-muted); padding-left: 4px; }
.is-pending .text { opacity: .75; }
.is-failed .text { background: #ffebe9; color: #82071e; border-color: #ff8182; }
.note { font-size: 12px; color: var(--kefu-muted); text-align: right; }
.retry { border: 0; background: none; padding: 0; color: var(--kefu-accent); text-decoration: underline; }
.links { list-style: none; margin: 0; padding: 0 4px; display: flex; flex-direction: column; gap: 2px; font-size: 14px; }
.links a { color: var(--kefu-accent); text-decoration: underline; overflow-wrap: anywhere; }
.choices { display: flex; flex-wrap: wrap; gap: 6px; }
.choice {
  border: 1px solid var(--kefu-accent); background: #fff; color: var(--kefu-accent);
  border-radius: 16px; padding: 5px 12px; font-size: 14px; text-align: left;
}
.choice:hover { background: #ddf4ff; }
.feedback { align-self: flex-start; border: 0; background: none; padding: 0 4px; font-size: 12px; color: var(--kefu-muted); text-decoration: underline; }
.rate { padding: 10px 16px; border-top: 1px solid var(--kefu-line); display: flex; align-items: center; justify-content: space-between; gap: 8px; flex-wrap: wrap; }
.rate-label { font-weight: 600; font-size: 14px; }
.stars { display: flex; gap: 2px; }
.star { border: 0; background: none; font-size: 26px; line-height: 1; color: #c4c9cf; padding: 2px 3px; }
.stars:hover .star { color: #d4a72c; }
.stars .star:hover ~ .star { color: #c4c9cf; }
.star.on { color: #d4a72c; }
.error { padding: 6px 16px; background: #ffebe9; color: #82071e; font-size: 13px; }
.actions { display: flex; justify-content: center; padding: 8px 12px 0; }
.person { border: 1px solid var(--kefu-line); background: #fff; border-radius: 16px; padding: 5px 14px; font-size: 14px; }
.person:hover { border-color: var(--kefu-accent); color: var(--kefu-accent); }
.leave { display: block; margin-top: 4px; border: 0; background: none; padding: 0; font-size: 13px; color: var(--kefu-accent); text-decoration: underline; cursor: pointer; }
.composer { display: flex; gap: 8px; align-items: flex-end; padding: 10px 12px 12px; }
.input {
  flex: 1; resize: none; min-height: 42px; max-height: 120px; padding: 10px 12px;
  font: inherit; color: inherit; background: #fff;
  border: 1px solid var(--kefu-line); border-radius: 12px;
}
.send { border: 0; border-radius: 12px; background: var(--kefu-accent); color: var(--kefu-accent-ink); font-weight: 600; padding: 0 16px; height: 42px; }
@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; border-radius: 0; border: 0; }
  .is-open .bubble { display: none; }
  .msg { max-width: 92%; }
}
@media (prefers-reduced-motion: no-preference) {
  .panel { animation: kefu-in .16s ease-out; }
  @keyframes kefu-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }
}
`;
  }
})();
