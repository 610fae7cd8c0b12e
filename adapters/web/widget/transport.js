// Talking to kefu: the JSON API, and live updates over SSE (read with fetch) or long polls.
// A part of widget.js: see boot.js.

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
