// The customer's messages, actions, feedback and rating.
// A part of widget.js: see boot.js.

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
