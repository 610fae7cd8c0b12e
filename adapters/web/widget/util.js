// Small helpers: DOM building, ids, safe links, times, a JWT's subject.
// A part of widget.js: see boot.js.

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
