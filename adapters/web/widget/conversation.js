// Starting, restoring and switching conversations; kefu('identify') and kefu('logout').
// A part of widget.js: see boot.js.

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
