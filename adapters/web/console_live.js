// kefu agent console: live updates. The agent SSE stream (GET /v1/agent/events) is read with fetch,
// since EventSource cannot send the Authorization header, and resumed with Last-Event-ID; a stream
// that fails twice at once (a proxy that buffers or blocks it) gives way to long polls
// (GET /v1/agent/poll), and now and then the stream is tried again. Shares window.kefuConsole with
// the other console files (console.js says which does what).
(() => {
  'use strict';

  const C = (window.kefuConsole = window.kefuConsole || {});
  const { S, $ } = C;
  const t = (key, vars) => C.t(key, vars);

  // `on`: true (live), false (reconnecting) or null (connecting, the first time).
  C.setLive = function setLive(on) {
    S.live.on = on;
    const live = $('live');
    live.textContent = t(on === null ? 'live.connecting' : on ? 'live.on' : 'live.off');
    live.className = on === null ? 'live' : `live ${on ? 'on' : 'off'}`;
  };

  C.stopLive = function stopLive() {
    S.live.gen++;
    if (S.live.abort) S.live.abort.abort();
    S.live.abort = null;
  };

  C.startLive = function startLive() {
    C.stopLive();
    const gen = S.live.gen;
    liveLoop(gen).catch(() => {});
  };

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
        if (live.transport === 'sse' && live.failures >= 2 && Date.now() - started < 10000) live.transport = 'poll';
        C.setLive(false);
      }
      if (live.gen !== gen) return;
      const backoff = live.failures <= 1 ? 1000 : Math.min(30000, retryMs * 2 ** (live.failures - 2));
      await C.sleep(live.failures === 0 ? retryMs : backoff * (0.75 + Math.random() / 2));
    }
  }

  function sessionGone() {
    C.sessionEnded({ key: 'login.ended' });
    return new C.ApiError(401, 'unauthenticated', 'session ended');
  }

  async function readSse(signal, setRetry) {
    const headers = { Authorization: `Bearer ${S.token}`, Accept: 'text/event-stream' };
    if (S.lastEventId !== null) headers['Last-Event-ID'] = String(S.lastEventId);
    const res = await fetch('/v1/agent/events', { headers, signal, cache: 'no-store' });
    if (res.status === 401) throw sessionGone();
    if (!res.ok || !res.body) throw new C.ApiError(res.status, 'http', res.statusText);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => reader.cancel().catch(() => {}), 35000);  // two heartbeats missed
    };
    arm();
    const parser = sseParser(setRetry);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        S.live.failures = 0;
        parser(value);
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  // Returns a function fed the stream's text as it comes, which handles each complete event.
  function sseParser(setRetry) {
    let buffer = '';
    let event = { type: 'message', data: [], id: null };
    const dispatch = () => {
      if (event.id !== null) S.lastEventId = event.id;
      if (event.data.length > 0) {
        try {
          handleEvent(event.type, JSON.parse(event.data.join('\n')));
        } catch (err) {
          console.error('kefu console: event', event.type, err);
        }
      }
      event = { type: 'message', data: [], id: null };
    };
    return (text) => {
      buffer += text;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === '') {
          dispatch();
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
    };
  }

  async function pollOnce(signal) {
    const after = S.lastEventId === null ? '' : `after=${S.lastEventId}&`;
    const res = await fetch(`/v1/agent/poll?${after}timeout=25`, {
      headers: { Authorization: `Bearer ${S.token}`, Accept: 'application/json' },
      signal,
      cache: 'no-store',
    });
    if (res.status === 401) throw sessionGone();
    if (!res.ok) throw new C.ApiError(res.status, 'http', res.statusText);
    const data = await res.json();
    C.setLive(true);
    if (data.resync) handleEvent('resync', {});
    for (const e of data.events || []) handleEvent(e.type, e);
    S.lastEventId = data.last_event_id;
  }

  // {agent: username, name: display name, presence}; the name is new in kefu's presence events.
  function onPresence(data) {
    if (!data.agent) return;
    S.agents.set(data.agent, { presence: data.presence, name: data.name || data.agent });
    if (data.agent !== S.username) return;
    if (data.name && data.name !== S.name) {
      S.name = data.name;
      $('me-name').textContent = S.name;
      C.saveSession();
    }
    if (data.presence && data.presence !== S.presence) {
      C.setPresenceUi(data.presence);
      C.saveSession();
      if (data.presence === 'offline') C.toast(t('presence.now_offline'));
    }
  }

  function onMessage(e, data) {
    if (e.conversation !== S.current) {
      C.schedule('mine', C.loadMine);
      return;
    }
    C.loadMessages(S.current)
      .then(() => C.schedule('mine', C.loadMine))
      .catch(() => {});
    if (data.kind === 'customer') C.schedule('suggest', () => S.current && C.select(S.current), 300);
  }

  // Agent events: {id, type, conversation?, data} (docs/api.md, GET /v1/agent/events).
  function handleEvent(type, e) {
    const data = (e && e.data) || {};
    switch (type) {
      case 'ready':
        C.setLive(true);
        break;
      case 'resync':
        C.refreshAll();
        break;
      case 'queue':
        C.schedule('queue', C.loadQueue);
        break;
      case 'presence':
        onPresence(data);
        break;
      case 'assigned':
        C.schedule('mine', C.loadMine);
        C.schedule('queue', C.loadQueue);
        if (data.assignee === S.username && e.conversation !== S.current) {
          C.toast(data.ticket ? t('assigned.ticket', { ticket: data.ticket }) : t('assigned.customer'));
          if (!S.current) C.select(e.conversation);
        }
        if (e.conversation === S.current) C.select(S.current);
        break;
      case 'state':
        C.schedule('mine', C.loadMine);
        if (e.conversation === S.current) C.select(S.current);
        break;
      case 'message':
        onMessage(e, data);
        break;
      case 'reminder':
        C.toast(t('reminder', { ticket: data.ticket || data.id || '' }));
        break;
      case 'logout':
        C.sessionEnded({ key: 'login.logged_out' });
        break;
      default:
        break;
    }
  }
})();
