// kefu's chat widget. One tag adds a chat bubble to any page:
//
//   <script src="https://KEFU-HOST/widget.js" data-desk="hr"></script>
//
// Attributes: data-desk (required), data-locale ("zh" or "en"; default: the page's lang, then the
// browser's), data-title (the panel's title), data-api (kefu's base URL; default: where this
// script came from), data-user-jwt (a signed-in employee or user: an HS256 JWT minted by the
// page's backend with the desk's app_secret, docs/channels.md). Plain JavaScript, no dependencies.
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
//
// The source is split by concept into adapters/web/widget/*.js; the build
// (adapters/web/embed_assets.py, called by adapters/meson.build) joins them, in the order
// adapters/meson.build lists them, into the one file served as /widget.js:
//
//   (() => { 'use strict'; boot.js i18n.js util.js state.js transport.js view.js
//            conversation.js sending.js main.js styles.js })();
//
// So every part shares one closure, and nothing is global but window.kefu and window.kefuWidget. A
// part may use another's function declarations anywhere, and its `const`s and `let`s when that part
// comes earlier in the list or from inside a function that runs later (main.js, last but the
// stylesheet, mounts the widget). This file runs first: without data-desk, or when the tag is on
// the page twice, it returns from the closure and the widget does nothing.

const script = document.currentScript;
if (!script || !script.dataset.desk) {
  console.error('kefu widget: add data-desk="..." to the <script> tag');
  return;
}
const desk = script.dataset.desk;
window.kefuWidget = window.kefuWidget || {};
if (window.kefuWidget[desk]) return;  // the tag is on the page twice
