// The tune page: which max_concurrency to pick and why. Throughput and p99 against the
// level, the USL fit, the SLO line and the recommended level. Reads the embedded tune report.
'use strict';

(function tunePage() {
  const started = performance.now();
  const page = document.getElementById('page');
  const report = readData('tune-data');
  const derived = readData('page-data');
  const levels = report.levels;
  const recommended = report.recommended;
  const best = levels.reduce((a, b) => (b.throughput > a.throughput ? b : a), levels[0]);
  // A recommendation below the level it came from: that level never had more in flight.
  const chosen = levels.find((l) => l.max_concurrency === recommended) ||
    levels.find((l) => l.max_in_flight === recommended && l.max_in_flight < l.max_concurrency) || null;
  const lo = levels[0].max_concurrency;
  const hi = levels[levels.length - 1].max_concurrency;
  // As the SVG chart does: a log axis once the levels span a factor of 16.
  const logAxis = hi / lo >= 16;
  const charts = [];

  page.append(
    el('h1', {}, `${report.scenario} · tune`),
    el('p', { class: 'sub' },
      `seed ${report.seed} · ${report.clock} clock · ${report.calls} calls per run · ${levels.length} levels` +
      (report.arrivals ? ` · open loop, ${report.arrivals.process} arrivals at ${report.arrivals.rate_per_s}/s` : '') +
      ` · parabench ${report.parabench_version || ''}`),
  );

  const cards = el('div', { class: 'cards' });
  cards.append(card('recommended max_concurrency', recommended === null ? 'none' : String(recommended),
    recommended === null ? 'no level meets the criteria' : 'the smallest level that meets the criteria',
    { id: 'recommended', 'data-value': recommended === null ? 'none' : recommended }));
  if (chosen) {
    cards.append(card('its throughput', `${chosen.throughput.toFixed(1)}/s`,
      `${(100 * chosen.throughput / best.throughput).toFixed(0)} % of the best`));
    cards.append(card('its p99', fmtSecs(chosen.p99_s), `p50 ${fmtSecs(chosen.p50_s)}`));
  }
  cards.append(card('best throughput', `${best.throughput.toFixed(1)}/s`, `at max_concurrency ${best.max_concurrency}`));
  if (report.usl) {
    cards.append(card('USL peak N*', report.usl.peak_n === null ? 'none' : report.usl.peak_n.toFixed(1),
      `σ ${report.usl.sigma.toPrecision(3)} · κ ${report.usl.kappa.toPrecision(3)} · R² ${report.usl.r_squared.toFixed(3)}`));
  }
  page.append(cards);
  page.append(el('p', { id: 'reason' }, report.reason));
  page.append(el('p', { class: 'note', id: 'usl-note' }, report.usl_note));
  const c = report.criteria;
  page.append(el('p', { class: 'note' },
    `Criteria: at least ${(c.target_share * 100).toFixed(0)} % of the best throughput` +
    (c.slo_p99_s ? `, p99 under ${fmtSecs(c.slo_p99_s)}` : ', no p99 SLO') +
    (c.max_error_rate !== null && c.max_error_rate !== undefined
      ? `, at most ${(c.max_error_rate * 100).toFixed(1)} % of calls failing` : '') + '.'));

  page.append(el('h2', {}, 'Throughput and p99 by max_concurrency'));
  page.append(el('p', { class: 'note' },
    'Blue: measured throughput at each level. Orange dashes: the Universal Scalability Law fitted to it. ' +
    'Vermillion: p99 end-to-end latency, against the SLO (dashed). The black line marks the recommended level.'));
  const throughputFigure = el('figure', { id: 'throughput-chart' }, el('canvas'));
  const latencyFigure = el('figure', { id: 'p99-chart' }, el('canvas'));
  page.append(throughputFigure, latencyFigure);
  charts.push(() => plot(throughputFigure, {
    points: levels.map((l) => [l.max_concurrency, l.throughput]),
    curve: derived.usl_curve,
    colour: LINE_COLOUR,
    yTitle: 'throughput (calls/s)',
    yFormat: (v) => String(Number(v.toPrecision(3))),
  }));
  charts.push(() => plot(latencyFigure, {
    points: levels.map((l) => [l.max_concurrency, l.p99_s]),
    colour: OUTCOME_COLOURS.error,
    limit: c.slo_p99_s ? { value: c.slo_p99_s, label: `SLO p99 ${fmtSecs(c.slo_p99_s)}` } : null,
    yTitle: 'p99 latency',
    yFormat: (v) => fmtSecs(v).replace(/\.?0+ s$/, ' s'),
  }));
  page.append(levelTable());
  if (report.rate_sweep) page.append(rateTable(report.rate_sweep));
  drawAll();
  onResize(drawAll);

  page.setAttribute('data-resource-requests', String(performance.getEntriesByType('resource').length));
  page.setAttribute('data-render-ms', (performance.now() - started).toFixed(1));
  page.setAttribute('data-rendered', 'true');

  function drawAll() {
    charts.forEach((draw) => draw());
  }

  /** One chart against max_concurrency: points joined by a line, a fitted curve, a limit. */
  function plot(figure, spec) {
    const canvas = figure.querySelector('canvas');
    const width = figure.clientWidth || 1200;
    const height = width < 900 ? 230 : 270;
    const ctx = setupCanvas(canvas, width, height);
    const [x0, x1, top, bottom] = [width < 900 ? 64 : 80, width - 16, 10, height - 44];
    const scale = (n) => (logAxis ? Math.log2(n / lo) / Math.log2(hi / lo) : (n - lo) / Math.max(1e-9, hi - lo));
    const pad = 0.03;
    const x = (n) => x0 + (x1 - x0) * (pad + (1 - 2 * pad) * (hi === lo ? 0.5 : scale(n)));
    const yMax = Math.max(1e-12, ...spec.points.map((p) => p[1]), ...(spec.curve || []).map((p) => p[1]),
      spec.limit ? spec.limit.value : 0) * 1.12;
    const y = (v) => bottom - (v / yMax) * (bottom - top);

    // Axes: y ticks in the series' unit, x ticks at each level.
    ctx.strokeStyle = RULE;
    ctx.fillStyle = MUTED;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of niceTicks(yMax, 5)) {
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x0, yy);
      ctx.lineTo(x1, yy);
      ctx.stroke();
      ctx.fillText(spec.yFormat(v), x0 - 6, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    let lastLabel = -Infinity;
    for (const l of levels) {
      const xx = Math.round(x(l.max_concurrency)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(xx, bottom);
      ctx.lineTo(xx, bottom + 4);
      ctx.stroke();
      if (xx - lastLabel >= 28) {
        ctx.fillText(String(l.max_concurrency), xx, bottom + 6);
        lastLabel = xx;
      }
    }
    ctx.strokeStyle = INK;
    ctx.beginPath();
    ctx.moveTo(x0, bottom + 0.5);
    ctx.lineTo(x1, bottom + 0.5);
    ctx.stroke();
    ctx.fillStyle = INK;
    ctx.fillText(`max_concurrency (calls in flight${logAxis ? ', log scale' : ''})`, (x0 + x1) / 2, bottom + 22);
    ctx.save();
    ctx.translate(12, (top + bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText(spec.yTitle, 0, 0);
    ctx.restore();

    if (spec.limit) {
      ctx.save();
      ctx.strokeStyle = INK;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(x0, Math.round(y(spec.limit.value)) + 0.5);
      ctx.lineTo(x1, Math.round(y(spec.limit.value)) + 0.5);
      ctx.stroke();
      ctx.restore();
      ctx.fillStyle = INK;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'bottom';
      ctx.fillText(spec.limit.label, x1 - 4, y(spec.limit.value) - 3);
    }
    if (spec.curve && spec.curve.length) {
      ctx.save();
      ctx.strokeStyle = OUTCOME_COLOURS.timeout;
      ctx.lineWidth = 2;
      ctx.setLineDash([7, 4]);
      ctx.beginPath();
      spec.curve.forEach(([n, v], k) => (k ? ctx.lineTo(x(n), y(v)) : ctx.moveTo(x(n), y(v))));
      ctx.stroke();
      ctx.restore();
    }
    if (recommended !== null) {
      const xr = Math.round(x(recommended)) + 0.5;
      ctx.strokeStyle = INK;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(xr, top);
      ctx.lineTo(xr, bottom);
      ctx.stroke();
      ctx.fillStyle = INK;
      ctx.textAlign = xr > (x0 + x1) / 2 ? 'right' : 'left';
      ctx.textBaseline = 'top';
      ctx.fillText(`recommended ${recommended}`, xr + (ctx.textAlign === 'left' ? 5 : -5), top + 2);
      figure.setAttribute('data-recommended-marked', String(recommended));
    } else {
      figure.setAttribute('data-recommended-marked', 'none');
    }
    ctx.strokeStyle = spec.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    spec.points.forEach(([n, v], k) => (k ? ctx.lineTo(x(n), y(v)) : ctx.moveTo(x(n), y(v))));
    ctx.stroke();
    let drawn = 0;
    for (const [n, v] of spec.points) {
      ctx.beginPath();
      ctx.arc(x(n), y(v), n === recommended ? 6 : 4, 0, 2 * Math.PI);
      ctx.fillStyle = n === recommended ? INK : spec.colour;
      ctx.fill();
      drawn += 1;
    }
    figure.setAttribute('data-points', String(drawn));

    canvas.onmousemove = (event) => {
      const box = canvas.getBoundingClientRect();
      const px = event.clientX - box.left;
      const nearest = levels.reduce((a, b) =>
        (Math.abs(x(b.max_concurrency) - px) < Math.abs(x(a.max_concurrency) - px) ? b : a));
      if (Math.abs(x(nearest.max_concurrency) - px) > 24) {
        tooltip.hide();
        return;
      }
      tooltip.show(event, levelDetails(nearest));
    };
    canvas.onmouseleave = () => tooltip.hide();
  }

  function levelDetails(l) {
    return el('div', {},
      el('div', {}, el('b', {}, `max_concurrency ${l.max_concurrency}`),
        l.max_concurrency === recommended ? ' · recommended' : ''),
      el('div', {}, `throughput ${l.throughput.toFixed(2)}/s · wall ${fmtSecs(l.wall_s)}`),
      el('div', {}, l.speedup === null
        ? 'no speedup: the run or the baseline hit the deadline, so they did different work'
        : `speedup ${l.speedup.toFixed(2)}× of ${l.speedup_bound.toFixed(2)}× possible (set by ${l.binding})`),
      el('div', {}, `p50 ${fmtSecs(l.p50_s)} · p99 ${fmtSecs(l.p99_s)} · queue p99 ${fmtSecs(l.queue_p99_s)}`),
      el('div', {}, `errors ${l.errors} (${(l.error_rate * 100).toFixed(1)} %) · retries ${l.retries}`));
  }

  function levelTable() {
    const head = ['max_concurrency', 'wall', 'throughput', 'speedup', 'bound', 'efficiency', 'set by', 'p50', 'p99',
      'queue p99', 'errors', 'retries'];
    const body = el('tbody');
    for (const l of levels) {
      body.append(el('tr', { style: l.max_concurrency === recommended ? 'font-weight:600;background:#eef6fb' : null },
        el('td', {}, String(l.max_concurrency) + (l.max_concurrency === recommended ? ' ✓' : '')),
        el('td', {}, fmtSecs(l.wall_s)), el('td', {}, `${l.throughput.toFixed(2)}/s`),
        el('td', {}, l.speedup === null ? '–' : `${l.speedup.toFixed(2)}×`),
        el('td', {}, l.speedup_bound === null ? '–' : `${l.speedup_bound.toFixed(2)}×`),
        el('td', {}, l.efficiency === null ? '–' : `${(l.efficiency * 100).toFixed(1)} %`),
        el('td', { class: 'name' }, l.binding === null ? 'deadline hit' : l.binding),
        el('td', {}, fmtSecs(l.p50_s)), el('td', {}, fmtSecs(l.p99_s)), el('td', {}, fmtSecs(l.queue_p99_s)),
        el('td', {}, String(l.errors)), el('td', {}, String(l.retries))));
    }
    return el('section', {},
      el('h2', {}, 'Every level'),
      el('div', { class: 'table-wrap' }, el('table', { id: 'levels' },
        el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))), body)));
  }

  function rateTable(sweep) {
    const body = el('tbody');
    for (const r of sweep.rates) {
      body.append(el('tr', {},
        el('td', {}, `${r.rate_per_s}/s`), el('td', {}, String(r.calls)), el('td', {}, `${r.throughput.toFixed(2)}/s`),
        el('td', {}, fmtSecs(r.p50_s)), el('td', {}, fmtSecs(r.p99_s)), el('td', {}, fmtSecs(r.queue_p99_s)),
        el('td', {}, String(r.errors)), el('td', {}, r.keeps_up ? 'yes' : 'no')));
    }
    return el('section', {},
      el('h2', {}, `Arrival rates at max_concurrency ${sweep.max_concurrency}`),
      el('p', {}, sweep.reason),
      el('div', { class: 'table-wrap' }, el('table', { id: 'rates' },
        el('thead', {}, el('tr', {}, ['offered', 'calls', 'throughput', 'p50', 'p99', 'queue p99', 'errors',
          'keeps up'].map((h) => el('th', {}, h)))), body)));
  }
})();
