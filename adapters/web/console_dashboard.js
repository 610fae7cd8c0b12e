// kefu agent console: the dashboard. The desk's figures (GET /v1/agent/stats) as cards and charts the
// console draws itself as inline SVG (C.chart, C.hbars: the Knowledge tab draws with them too), and
// the knowledge gaps (GET /v1/agent/gaps). Shares window.kefuConsole with the other console files
// (console.js says which does what).
(() => {
  'use strict';

  const C = (window.kefuConsole = window.kefuConsole || {});
  const { S, $, el, svgEl } = C;
  const t = (key, vars) => C.t(key, vars);

  C.loadDashboard = async function loadDashboard() {
    try {
      const [stats, gaps] = await Promise.all([C.api('GET', '/v1/agent/stats'), C.api('GET', '/v1/agent/gaps').catch(() => null), C.loadQueue()]);
      S.stats = stats;
      if (gaps) S.gaps = gaps.gaps || [];
      S.dashUpdated = { key: 'common.updated', time: C.nowTime() };
    } catch (e) {
      S.dashUpdated = { key: 'common.not_updated', error: e.message };
    }
    renderAll();
  };

  function renderAll() {
    const u = S.dashUpdated;
    $('dash-updated').textContent = u ? t(u.key, u) : '';
    if (S.stats) renderDashboard(S.stats);
    if (S.gaps) renderGaps(S.gaps);
  }

  C.onLanguage(() => { if (S.token) renderAll(); });

  // `sub`: a line under the figure, or several.
  function card(id, value, sub) {
    const c = el('div', { class: 'card', 'data-card': id });
    c.append(el('div', { class: 'k' }, t(`card.${id}`)), el('div', { class: 'v' }, value));
    for (const line of [].concat(sub || '')) c.appendChild(el('div', { class: 's' }, line));
    return c;
  }

  function cards(s) {
    const waits = S.queue.map(C.waitSeconds);
    const online = s.agents_online ?? 0;
    const queueSub = waits.length ? t('card.longest_wait', { time: C.clock(Math.max(...waits)) }) : t('card.agents_online', { n: online });
    const botSub = [t('card.resolved_by_bot', { bot: s.resolved_by_bot, n: s.resolved })];
    if (Number.isFinite(s.bot_open)) botSub.push(t('card.bot_open', { n: s.bot_open }));
    return [
      card('conversations', String(s.conversations), t('card.customer_messages', { n: s.customer_messages })),
      card('bot_resolution', C.percent(s.bot_resolution_rate), botSub),
      card('queue_now', String(s.queue_length ?? S.queue.length), queueSub),
      card('queue_wait', C.duration(s.queue_wait_p50_seconds), t('card.median_p90', { p90: C.duration(s.queue_wait_p90_seconds) })),
      card('first_response', C.duration(s.first_response_p50_seconds), t('card.median_p90', { p90: C.duration(s.first_response_p90_seconds) })),
      card('csat', s.csat_count ? t('card.csat_value', { avg: s.csat_average.toFixed(1) }) : '—', t('card.ratings', { n: s.csat_count })),
    ];
  }

  function renderDashboard(s) {
    $('dash-cards').replaceChildren(...cards(s));
    const people = Math.max(0, (s.resolved || 0) - (s.resolved_by_bot || 0));
    const timing = (key, seconds) => ({ label: t(key), value: seconds, text: C.duration(seconds) });
    const counts = (rows, label, value) => rows.slice(0, 8).map((r) => ({ label: r[label], value: r[value], text: String(r[value]) }));
    const unanswered = s.top_unmatched || [];
    const answered = s.intent_hits || [];
    $('dash-charts').replaceChildren(
      chart('chart.who_resolved', donut([
        { label: t('legend.bot'), value: s.resolved_by_bot || 0, color: '#8250df' },
        { label: t('legend.people'), value: people, color: '#1f6feb' },
      ]), s.resolved === 0 ? 'chart.who_resolved_none' : null),
      chart('chart.waiting_now', columns(S.queue.map((v, i) => ({ label: `#${i + 1}`, value: C.waitSeconds(v), text: C.clock(C.waitSeconds(v)) }))),
        S.queue.length === 0 ? 'chart.waiting_now_none' : null),
      chart('chart.response_times', hbars([
        timing('axis.queue_wait_p50', s.queue_wait_p50_seconds),
        timing('axis.queue_wait_p90', s.queue_wait_p90_seconds),
        timing('axis.first_response_p50', s.first_response_p50_seconds),
        timing('axis.first_response_p90', s.first_response_p90_seconds),
        timing('axis.handle_time_p50', s.handle_time_p50_seconds),
      ], '#1a7f37')),
      chart('chart.unanswered', hbars(counts(unanswered, 'question', 'count'), '#bc4c00'), unanswered.length === 0 ? 'chart.unanswered_none' : null),
      chart('chart.most_answered', hbars(counts(answered, 'entry_id', 'answers'), '#8250df'), answered.length === 0 ? 'chart.most_answered_none' : null),
      chart('chart.satisfaction', hbars([
        { label: t('axis.csat_average'), value: s.csat_average || 0, max: 5, text: s.csat_count ? s.csat_average.toFixed(2) : '—' },
        { label: t('axis.helpful'), value: s.helpful_feedback || 0, text: String(s.helpful_feedback || 0) },
        { label: t('axis.unhelpful'), value: s.unhelpful_feedback || 0, text: String(s.unhelpful_feedback || 0) },
        { label: t('axis.escalation_rate'), value: s.escalation_rate || 0, max: 1, text: C.percent(s.escalation_rate) },
      ], '#d4a72c')),
    );
  }

  // The knowledge gaps, ranked as the server ranks them (by how many customers asked).
  function renderGaps(gaps) {
    const list = $('gaps-list');
    list.replaceChildren();
    for (const g of gaps) {
      if (g.language) S.kb.languages.add(g.language);
      const li = el('li', { class: 'gap' });
      const examples = el('ul', { class: 'g-examples', 'aria-label': t('gaps.examples') });
      for (const x of (g.examples || []).slice(0, 5)) examples.appendChild(el('li', {}, x));
      const figures = el('div', { class: 'g-figures' });
      figures.append(
        el('span', { class: 'g-customers' }, t('gaps.customers', { n: g.customers })),
        el('span', { class: 'muted' }, t('gaps.questions', { n: g.questions })),
        el('span', { class: 'muted' }, t('gaps.seen', { first: C.dateTime(g.first_seen), last: C.dateTime(g.last_seen) })),
      );
      const nearest = el('div', { class: 'g-nearest' });
      if (g.nearest_entry) {
        // The matcher's raw score means nothing to a lead: the closest entry says enough.
        nearest.append(el('span', { class: 'muted' }, t('gaps.closest')), el('span', { class: 'entry' }, g.nearest_entry));
      } else {
        nearest.appendChild(el('span', { class: 'muted' }, t('gaps.no_similar')));
      }
      if (g.language) nearest.appendChild(el('span', { class: 'tag' }, g.language));
      li.append(examples, figures, nearest);
      list.appendChild(li);
    }
    $('gaps-empty').hidden = gaps.length > 0;
  }

  // A chart titled with the dictionary's `titleKey`; `emptyKey` names the note shown instead of an
  // empty chart.
  function chart(titleKey, svg, emptyKey) {
    const box = el('figure', { class: 'chart', 'data-chart': titleKey.replace(/^chart\./, '') });
    box.appendChild(el('h3', {}, t(titleKey)));
    if (emptyKey) box.appendChild(el('p', { class: 'none' }, t(emptyKey)));
    else box.appendChild(svg);
    return box;
  }
  C.chart = chart;

  // Horizontal bars: a label, a bar, the value. A row's own `max` (e.g. 5 for CSAT) wins.
  function hbars(rows, color) {
    const width = 420;
    const rowH = 26;
    const labelW = 170;
    const barW = width - labelW - 60;
    const max = Math.max(1e-9, ...rows.filter((r) => !r.max).map((r) => Number(r.value) || 0));
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${Math.max(rowH, rows.length * rowH)}`, role: 'img' });
    rows.forEach((r, i) => {
      const y = i * rowH;
      const value = Math.max(0, Number(r.value) || 0);
      const w = Math.max(value > 0 ? 2 : 0, (value / (r.max || max)) * barW);
      const label = svgEl('text', { x: 0, y: y + 17 }, C.truncate(String(r.label), 26));
      label.appendChild(svgEl('title', {}, String(r.label)));
      svg.append(
        label,
        svgEl('rect', { x: labelW, y: y + 6, width: barW, height: 14, rx: 3, fill: '#eef1f4' }),
        svgEl('rect', { x: labelW, y: y + 6, width: w, height: 14, rx: 3, fill: color }),
        svgEl('text', { x: labelW + barW + 6, y: y + 17, class: 'dim' }, r.text),
      );
    });
    return svg;
  }
  C.hbars = hbars;

  // Vertical columns with their labels below.
  function columns(rows) {
    const width = 420;
    const height = 150;
    const base = 120;
    const max = Math.max(1, ...rows.map((r) => r.value));
    const n = Math.min(rows.length, 12);
    const step = width / Math.max(n, 1);
    const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img' });
    svg.appendChild(svgEl('line', { x1: 0, y1: base, x2: width, y2: base, stroke: '#d1d9e0' }));
    rows.slice(0, n).forEach((r, i) => {
      const h = Math.max(2, (r.value / max) * (base - 20));
      const x = i * step + step * 0.2;
      const long = r.value >= C.LONG_WAIT_SECONDS;
      svg.append(
        svgEl('rect', { x, y: base - h, width: step * 0.6, height: h, rx: 3, fill: long ? '#cf222e' : '#d4a72c' }),
        svgEl('text', { x: x + step * 0.3, y: base - h - 4, 'text-anchor': 'middle', class: 'dim' }, r.text),
        svgEl('text', { x: x + step * 0.3, y: base + 16, 'text-anchor': 'middle' }, r.label),
      );
    });
    return svg;
  }

  // A donut with a legend.
  function donut(parts) {
    const total = parts.reduce((a, p) => a + p.value, 0);
    const svg = svgEl('svg', { viewBox: '0 0 420 130', role: 'img' });
    const r = 48;
    const c = 2 * Math.PI * r;
    svg.appendChild(svgEl('circle', { cx: 65, cy: 65, r, fill: 'none', stroke: '#eef1f4', 'stroke-width': 22 }));
    let offset = 0;
    for (const p of parts) {
      if (total <= 0 || p.value <= 0) continue;
      const len = (p.value / total) * c;
      svg.appendChild(svgEl('circle', {
        cx: 65, cy: 65, r, fill: 'none', stroke: p.color, 'stroke-width': 22,
        'stroke-dasharray': `${len} ${c - len}`, 'stroke-dashoffset': -offset, transform: 'rotate(-90 65 65)',
      }));
      offset += len;
    }
    const main = total > 0 ? C.percent(parts[0].value / total) : '—';
    svg.appendChild(svgEl('text', { x: 65, y: 70, 'text-anchor': 'middle', 'font-weight': 700 }, main));
    parts.forEach((p, i) => {
      const y = 40 + i * 28;
      svg.append(
        svgEl('rect', { x: 150, y: y - 11, width: 14, height: 14, rx: 3, fill: p.color }),
        svgEl('text', { x: 172, y, class: 'legend' }, t('legend.item', { label: p.label, n: p.value })),
      );
    });
    return svg;
  }
})();
