// Opening and closing the panel, the controls' events, mounting, and the global kefu() command.
// A part of widget.js: see boot.js.

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
