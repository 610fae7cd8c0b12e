// The panel in its shadow root, and rendering messages and the conversation view into it.
// A part of widget.js: see boot.js.

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
