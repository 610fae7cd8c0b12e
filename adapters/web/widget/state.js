// The conversation kept on this device (localStorage) and the widget's state.
// A part of widget.js: see boot.js.

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
