// The analysis page: what real tool calls did, step by step, against the schedule
// parabench's executor finds for them. Reads the embedded analysis and the schedules.
'use strict';

(function analysisPage() {
  const started = performance.now();
  const page = document.getElementById('page');
  const a = readData('analysis-data');
  const derived = readData('page-data');
  const charts = [];
  const palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
  const colour = (tool) => palette[((tool % palette.length) + palette.length) % palette.length];
  const ideal = a.max_concurrency === null || a.max_concurrency === undefined ? 'unlimited' : `at ${a.max_concurrency}`;

  // Calls served to a client by `parabench serve`, not read from traces.
  const served = readData('served-data');
  page.append(
    el('h1', {}, served ? 'parabench serve' : 'parabench analyze'),
    el('p', { class: 'sub' }, served
      ? `${served.scenario} (seed ${served.seed}) served at ${a.sources.join(', ')} for ${fmtSecs(served.served_s)} · ` +
        `${served.served.calls} calls from ${served.sessions} sessions in ${a.total.steps} steps`
      : `${a.sources.join(', ')} · ${a.spans} spans · ${a.traces} traces · ${a.total.calls} tool calls in ` +
        `${a.total.steps} steps`),
  );
  const cards = el('div', { class: 'cards' });
  cards.append(
    card('time in tools', fmtSecs(a.total.wall_s), `over ${a.total.steps} steps`, { id: 'wall', 'data-value': a.total.wall_s }),
    card('ideal', fmtSecs(a.total.ideal_wall_s), `the same calls, ${ideal}`, { id: 'ideal', 'data-value': a.total.ideal_wall_s }),
    card('efficiency', (a.total.efficiency * 100).toFixed(1) + ' %', 'ideal ÷ time in tools',
      { id: 'efficiency', 'data-value': a.total.efficiency }),
    card('recommended', a.recommended === null ? 'none' : String(a.recommended), 'max_concurrency',
      { id: 'recommended', 'data-value': a.recommended === null ? 'none' : a.recommended }),
  );
  page.append(cards);
  page.append(el('p', { id: 'reason' }, a.reason));
  if (a.findings && a.findings.length) {
    const list = el('ul', { id: 'findings' });
    for (const f of a.findings) list.append(el('li', { class: 'warning', 'data-kind': f.kind }, f.text));
    page.append(el('h2', {}, 'What stands out'), list);
  }

  if (served) page.append(servedTools(served));

  page.append(el('h2', {}, 'What if max_concurrency were'));
  page.append(el('p', { class: 'note' },
    'The steps replayed one after another by parabench\'s executor at each limit: the total time in tools. ' +
    'The dashed line is unlimited.'));
  const whatIf = el('figure', { id: 'what-if' }, el('canvas'));
  page.append(whatIf);
  charts.push(() => drawWhatIf(whatIf));

  page.append(el('h2', {}, 'Steps: as they happened, and ideal'));
  const shown = derived.steps.length;
  page.append(el('p', { class: 'note', id: 'steps-note' },
    `Each step's calls as they ran (upper lane), and as parabench's executor schedules the same durations ` +
    `${ideal} (lower lane), on one time axis. ` +
    (shown < derived.steps_total
      ? `${shown} of ${derived.steps_total} steps are drawn: those that lost most against their ideal.`
      : `All ${shown} steps are drawn.`)));
  let barsObserved = 0;
  let barsIdeal = 0;
  for (const step of derived.steps) {
    const s = a.steps[step.index];
    const figure = el('figure', { class: 'step', 'data-step': step.index },
      el('figcaption', {},
        `step ${step.index + 1} · trace ${s.trace_id.replace(/^0+/, '').slice(0, 8)} · ${s.calls} calls · ` +
        `${s.max_in_flight} at most in flight · ${fmtSecs(s.wall_s)} as it happened, ${fmtSecs(s.ideal_wall_s)} ideal ` +
        `(${(s.efficiency * 100).toFixed(0)} %)`),
      el('canvas'));
    page.append(figure);
    barsObserved += step.observed.length;
    barsIdeal += step.ideal.length;
    charts.push(() => drawStep(figure, step));
  }
  page.append(toolTable());
  drawAll();
  onResize(drawAll);

  page.setAttribute('data-steps-drawn', String(shown));
  page.setAttribute('data-bars-observed', String(barsObserved));
  page.setAttribute('data-bars-ideal', String(barsIdeal));
  page.setAttribute('data-resource-requests', String(performance.getEntriesByType('resource').length));
  page.setAttribute('data-render-ms', (performance.now() - started).toFixed(1));
  page.setAttribute('data-rendered', 'true');

  function drawAll() {
    charts.forEach((draw) => draw());
  }

  /** Rows for bars so that no two in a row overlap: the first row free at each start. */
  function rows(bars) {
    const order = bars.map((b, i) => i).sort((i, j) => bars[i][1] - bars[j][1] || bars[i][2] - bars[j][2]);
    const ends = [];
    const row = new Array(bars.length);
    for (const i of order) {
      let r = ends.findIndex((end) => end <= bars[i][1]);
      if (r < 0) { r = ends.length; ends.push(0); }
      ends[r] = bars[i][2];
      row[i] = r;
    }
    return { row, count: Math.max(1, ends.length) };
  }

  function drawStep(figure, step) {
    const canvas = figure.querySelector('canvas');
    const width = figure.clientWidth || 1200;
    const upper = rows(step.observed);
    const lower = rows(step.ideal);
    const rowHeight = Math.max(2, Math.min(14, Math.floor(240 / Math.max(upper.count, lower.count))));
    const [x0, x1] = [128, width - 16];
    const laneGap = 18;
    const top = 8;
    const upperH = upper.count * rowHeight;
    const lowerTop = top + upperH + laneGap;
    const height = lowerTop + lower.count * rowHeight + 40;
    const ctx = setupCanvas(canvas, width, height);
    const span = Math.max(1e-9, ...step.observed.map((b) => b[2]), ...step.ideal.map((b) => b[2]));
    const x = (t) => x0 + (x1 - x0) * (t / span);
    ctx.font = FONT;
    ctx.fillStyle = MUTED;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText('as it happened', x0 - 8, top + upperH / 2);
    ctx.fillText(`ideal ${ideal}`, x0 - 8, lowerTop + (lower.count * rowHeight) / 2);
    const draw = (bars, layout, y0) => {
      bars.forEach((b, i) => {
        ctx.fillStyle = colour(b[0]);
        const left = x(b[1]);
        ctx.fillRect(left, y0 + layout.row[i] * rowHeight, Math.max(1, x(b[2]) - left), Math.max(1, rowHeight - 1));
      });
    };
    draw(step.observed, upper, top);
    draw(step.ideal, lower, lowerTop);
    drawTimeAxis(ctx, x0, x1, height - 30, top, span, 'time from the step\'s first call');
  }

  function drawWhatIf(figure) {
    const canvas = figure.querySelector('canvas');
    const width = figure.clientWidth || 1200;
    const height = 240;
    const ctx = setupCanvas(canvas, width, height);
    const points = a.what_if.filter((w) => w.max_concurrency !== null).map((w) => [w.max_concurrency, w.wall_s]);
    const unlimited = a.what_if.find((w) => w.max_concurrency === null);
    figure.setAttribute('data-points', String(points.length));
    if (!points.length) return;
    const [x0, x1, top, bottom] = [80, width - 16, 10, height - 44];
    const lo = points[0][0];
    const hi = points[points.length - 1][0];
    const xs = (n) => (hi === lo ? 0.5 : Math.log2(n / lo) / Math.log2(hi / lo));
    const x = (n) => x0 + (x1 - x0) * (0.03 + 0.94 * xs(n));
    const yMax = Math.max(1e-12, ...points.map((p) => p[1])) * 1.12;
    const y = (v) => bottom - (v / yMax) * (bottom - top);
    ctx.font = FONT;
    ctx.strokeStyle = RULE;
    ctx.fillStyle = MUTED;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of niceTicks(yMax, 5)) {
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x0, yy); ctx.lineTo(x1, yy); ctx.stroke();
      ctx.fillText(fmtSecs(v), x0 - 6, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const [n] of points) ctx.fillText(String(n), x(n), bottom + 6);
    ctx.fillText('max_concurrency', (x0 + x1) / 2, bottom + 24);
    if (unlimited) {
      ctx.strokeStyle = MUTED;
      ctx.setLineDash([5, 4]);
      ctx.beginPath(); ctx.moveTo(x0, y(unlimited.wall_s)); ctx.lineTo(x1, y(unlimited.wall_s)); ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.strokeStyle = LINE_COLOUR;
    ctx.fillStyle = LINE_COLOUR;
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach(([n, w], i) => (i ? ctx.lineTo(x(n), y(w)) : ctx.moveTo(x(n), y(w))));
    ctx.stroke();
    for (const [n, w] of points) {
      ctx.beginPath(); ctx.arc(x(n), y(w), n === a.recommended ? 6 : 4, 0, 2 * Math.PI); ctx.fill();
    }
  }

  function toolTable() {
    const body = el('tbody');
    for (const [name, t] of Object.entries(a.tools)) {
      const index = derived.tools.indexOf(name);
      body.append(el('tr', {},
        el('td', { class: 'name' }, el('span', { style: `color:${colour(index)}` }, '■ '), name),
        el('td', {}, String(t.count)), el('td', {}, String(t.errors)),
        el('td', {}, fmtSecs(t.p50_s)), el('td', {}, fmtSecs(t.p90_s)), el('td', {}, fmtSecs(t.p99_s)),
        el('td', {}, fmtSecs(t.max_s))));
    }
    const head = el('tr', {}, ...['tool', 'calls', 'errors', 'p50', 'p90', 'p99', 'max'].map((h) => el('th', {}, h)));
    return el('section', {}, el('h2', {}, 'Tools'), el('table', { id: 'tools' }, el('thead', {}, head), body));
  }

  /** What the client did with each tool: its calls and how they ended, its limits and what it sent beyond them. */
  function servedTools(served) {
    const statuses = ['ok', 'error', 'timeout', 'cancelled', 'rejected', 'unfinished'];
    const body = el('tbody');
    for (const [name, t] of Object.entries(served.served_tools)) {
      const limit = t.max_concurrency === null ? '–' : `${t.max_concurrency} (${t.limit_policy})`;
      body.append(el('tr', { 'data-tool': name, 'data-calls': t.calls },
        el('td', { class: 'name' }, name), el('td', {}, String(t.calls)),
        ...statuses.map((s) => el('td', {}, String(t.statuses[s] || 0))),
        el('td', {}, String(t.retries)), el('td', {}, String(t.max_in_flight)), el('td', {}, limit),
        el('td', {}, t.rate_limit === null ? '–' : `${t.rate_limit}/s`), el('td', {}, String(t.beyond_limit)),
        el('td', {}, t.calls ? fmtSecs(t.service_p50_s) : '–'), el('td', {}, t.calls ? fmtSecs(t.service_p99_s) : '–')));
    }
    const section = el('section', {},
      el('h2', {}, 'What the client did, per tool'),
      el('div', { class: 'table-wrap' }, el('table', { id: 'served-tools' },
        el('thead', {}, el('tr', {}, ['tool', 'calls', ...statuses, 'retries', 'max in flight', 'limit', 'rate',
          'beyond limit', 'service p50', 'p99'].map((h, i) => el('th', i ? {} : { class: 'name' }, h)))), body)));
    if (served.notes.length) {
      const notes = el('ul', { id: 'served-notes' });
      for (const n of served.notes) notes.append(el('li', { class: 'warning', 'data-kind': 'served' }, n));
      section.append(notes);
    }
    return section;
  }
})();
