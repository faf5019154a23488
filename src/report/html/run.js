// The run page: what the speedup is and why, each run's schedule as a timeline, calls in
// flight against the limits, and each tool's latency. Reads the embedded report.
'use strict';

(function runPage() {
  const started = performance.now();
  const page = document.getElementById('page');
  const report = readData('report-data');
  const derived = readData('page-data');
  const runs = report.runs;
  // Per run, its aggregates when it has too many calls to draw one by one (null: every
  // call is in the report and drawn).
  const condensed = runs.map((r, i) => (derived.condensed && derived.condensed[i]) || null);
  // One time axis for every run, so the parallel run is visibly shorter: the latest end,
  // over every call (computed where every call is known).
  const horizon = Math.max(1e-9, derived.horizon_s);
  // Condensed runs are each drawn on their own axis: an hour-long sequential run and a
  // minute-long parallel one cannot share one and both be read. A condensed run's
  // timeline ends with the calls it draws; its aggregates cover the whole run (their
  // buckets span it).
  const timelineAxis = runs.map((r, i) => {
    if (!condensed[i]) return horizon;
    let end = 1e-9;
    for (const c of r.calls) end = Math.max(end, c.end_s);
    return end;
  });
  // `#rows=tool` opens the page with one row per tool (a link can keep the choice).
  const state = { rows: /rows=tool/.test(window.location.hash) ? 'tool' : 'slot' };
  const figures = [];
  let labelWidth = null;

  const callsIn = (i) => (condensed[i] ? condensed[i].calls : runs[i].calls.length);
  const callCount = runs.reduce((n, r, i) => n + callsIn(i), 0);
  const anyCondensed = condensed.some((c) => c !== null);
  const sequential = runs.find((r) => r.mode === 'sequential');
  const parallel = runs.find((r) => r.mode !== 'sequential');

  page.append(
    el('h1', {}, report.scenario),
    el('p', { class: 'sub' },
      `seed ${report.seed} · ${report.clock} clock · ${callsIn(0).toLocaleString('en')} calls per run · ` +
      `parabench ${report.parabench_version || ''}` +
      (report.repetitions && report.repetitions.length > 1
        ? ` · repetition 1 of ${report.repetitions.length} shown` : '')),
  );
  page.append(summary());
  page.append(el('h2', {}, 'Schedule'));
  page.append(el('p', { class: 'note' },
    'Each bar is one attempt of a call, coloured by how it ended; a line joins the attempts of a call across ' +
    'its backoff (the call keeps its slot). The blue strip above a bar is the time the call waited for a slot ' +
    'after its dependencies ended. Black outlines mark the critical path: the dependency chain that ended the ' +
    'run. Hover over a bar for the call.' + (anyCondensed ? '' : ' Both runs share one time axis.')));
  page.append(controls());
  if (anyCondensed) {
    const c = condensed.find((x) => x !== null);
    page.append(el('p', { class: 'warning', id: 'scale-note', 'data-condensed': 'true' },
      `${callCount.toLocaleString('en')} calls in all runs: more than a timeline can show one by one. Each ` +
      `timeline below draws a run's first ${c.shown.toLocaleString('en')} calls to start (up to ` +
      `${fmtSecs(c.window_end_s)}), call by call; the charts after them aggregate every call of the run in ` +
      `${c.in_flight[0].max.length.toLocaleString('en')} time buckets: calls in flight ` +
      '(most and mean), how busy each concurrency slot was, and the service time\'s p50, p99 and max over time. ' +
      'Each run is drawn on its own time axis. The per-tool table counts every call.'));
  } else if (callCount > 2000) {
    page.append(el('p', { class: 'warning', id: 'scale-note' },
      `${callCount.toLocaleString('en')} calls in all runs: too many for one element each, so the timelines and charts ` +
      'are drawn on canvas. Attempts shorter than a pixel are drawn one pixel wide and merge into bands; hover ' +
      'still finds each call.'));
  }
  runs.forEach((run, i) => page.append(timelineSection(run, i)));
  page.append(el('h2', {}, 'Calls in flight'));
  page.append(el('p', { class: 'note' },
    'Calls holding a slot (backoffs included) over time, for the run and for each tool, against the global ' +
    'limit and each tool\'s own limit (dashed). A line that stays on its limit while calls queue shows the ' +
    'limit that held the run back.'));
  runs.forEach((run, i) => page.append(inflightSection(run, i)));
  if (anyCondensed) {
    page.append(el('h2', {}, 'Slot occupancy'));
    page.append(el('p', { class: 'note' },
      'How busy each concurrency slot was over time, every call counted: each call holds the lowest free slot ' +
      'from its first attempt to its end, as on the timeline; darker is busier. Wide runs group neighbouring ' +
      'slots into one row.'));
    runs.forEach((run, i) => condensed[i] && page.append(occupancySection(run, condensed[i])));
    page.append(el('h2', {}, 'Service time over time'));
    page.append(el('p', { class: 'note' },
      'The p50, p99 and max service time of the calls that ended in each bucket, every call counted.'));
    runs.forEach((run, i) => condensed[i] && page.append(serviceSection(run, condensed[i])));
  }
  page.append(toolTable());
  drawAll();
  onResize(drawAll);

  page.setAttribute('data-attempts-in-report', String(runs.reduce(
    (n, r) => n + r.calls.reduce((m, c) => m + c.attempts, 0), 0)));
  page.setAttribute('data-calls', String(callCount));
  page.setAttribute('data-condensed-runs', String(condensed.filter((c) => c !== null).length));
  page.setAttribute('data-resource-requests', String(performance.getEntriesByType('resource').length));
  page.setAttribute('data-render-ms', (performance.now() - started).toFixed(1));
  page.setAttribute('data-rendered', 'true');

  function drawAll() {
    let segments = 0;
    let markers = 0;
    for (const f of figures) {
      const drawn = f.draw();
      segments += drawn.segments || 0;
      markers += drawn.markers || 0;
    }
    page.setAttribute('data-attempt-segments', String(segments));
    page.setAttribute('data-markers', String(markers));
  }

  // ---- summary ---------------------------------------------------------------------

  function modeLabel(run) {
    return `${run.mode} ×${run.max_concurrency}`;
  }

  function bindingWords(binding) {
    if (!binding) return 'unknown';
    if (binding === 'max_concurrency') return 'the concurrency limit';
    if (binding === 'critical_path') return 'the longest dependency chain';
    if (binding === 'cpu_cores') return 'the CPU cores';
    if (binding.startsWith('tool_limit:')) return `the own limit of tool ${binding.slice(11)}`;
    if (binding.startsWith('rate_limit:')) return `the rate limit of tool ${binding.slice(11)}`;
    return binding;
  }

  function summary() {
    const section = el('section', { id: 'summary' });
    const cards = el('div', { class: 'cards' });
    for (const run of runs) {
      cards.append(card(`${run.mode} wall`, fmtSecs(run.wall_s),
        `×${run.max_concurrency} · ${(run.success_rate * 100).toFixed(1)} % ok`,
        { 'data-wall-s': run.wall_s, id: `wall-${run.mode}` }));
    }
    const hasSpeedup = typeof report.speedup === 'number';
    if (hasSpeedup) {
      cards.append(card('speedup', report.speedup.toFixed(2) + '×', 'sequential wall ÷ parallel wall',
        { id: 'speedup', 'data-value': report.speedup }));
      if (typeof report.speedup_bound === 'number') {
        cards.append(card('bound', report.speedup_bound.toFixed(2) + '×',
          'set by ' + bindingWords(report.bound && report.bound.binding),
          { id: 'speedup-bound', 'data-value': report.speedup_bound }));
      }
      if (typeof report.efficiency === 'number') {
        cards.append(card('efficiency', (report.efficiency * 100).toFixed(1) + ' %', 'speedup ÷ bound',
          { id: 'efficiency', 'data-value': report.efficiency }));
      }
    }
    section.append(cards);
    if (hasSpeedup && sequential && parallel) {
      const words = [
        `The ${modeLabel(parallel)} run took ${fmtSecs(parallel.wall_s)} against ` +
        `${fmtSecs(sequential.wall_s)} one call at a time: a speedup of ${report.speedup.toFixed(2)}×.`,
      ];
      if (report.bound && typeof report.speedup_bound === 'number') {
        words.push(` No schedule could do better than ${report.speedup_bound.toFixed(2)}× here: ` +
          `${bindingWords(report.bound.binding)} keeps any run at ${fmtSecs(report.bound.makespan_lower_s)} ` +
          'or more.');
      }
      if (typeof report.efficiency === 'number') {
        words.push(report.efficiency >= 0.95
          ? ' The executor came within 5 % of that bound.'
          : ` The run reached ${(report.efficiency * 100).toFixed(0)} % of it; the timeline shows where ` +
            'calls queued or waited.');
      }
      section.append(el('p', { id: 'speedup-explained' }, words.join('')));
      if (report.bound && report.bound.terms_s) {
        const terms = Object.entries(report.bound.terms_s).sort((a, b) => b[1] - a[1]);
        section.append(el('p', { class: 'note' }, 'Least possible parallel wall time, by what limits it: ',
          terms.map(([name, s], i) => el(name === report.bound.binding ? 'b' : 'span', {},
            `${i ? ' · ' : ''}${name} ${fmtSecs(s)}`))));
      }
    } else if (report.within_deadline) {
      const within = report.within_deadline;
      for (const r of within.runs) {
        cards.append(card(`${r.mode} completed`, `${r.completed} of ${r.calls}`,
          `within the ${fmtSecs(within.deadline_s)} deadline · ${r.ok} ok`,
          { id: `completed-${r.mode}`, 'data-value': r.completed }));
      }
      if (typeof within.ratio === 'number') {
        cards.append(card('completed ratio', within.ratio.toFixed(2) + '×',
          `calls completed: ${within.runs[within.runs.length - 1].mode} ÷ sequential`,
          { id: 'completed-ratio', 'data-value': within.ratio }));
      }
      section.append(el('p', { class: 'note', id: 'speedup-explained' },
        `No speedup: a run hit its ${fmtSecs(within.deadline_s)} deadline, so the runs did different ` +
        'work and a ratio of their wall times would compare unlike with like. What compares is how ' +
        'many calls each run completed within the deadline.'));
    } else {
      section.append(el('p', { class: 'note' },
        'Only one mode ran, so there is no speedup to show (run with --mode compare).'));
    }
    for (const run of runs.filter((r) => r.deadline_hit)) {
      section.append(el('p', { class: 'warning' },
        `The ${run.mode} run hit its deadline: the calls still unfinished were cancelled.`));
    }
    if (report.expectations.length) {
      const list = el('ul', { class: 'expectations', id: 'expectations' });
      for (const e of report.expectations) {
        const [mark, cls, word] = e.ok === true ? ['✓', 'held', 'held']
          : e.ok === false ? ['✗', 'failed', 'failed'] : ['–', 'unmeasured', 'not measured in this run'];
        list.append(el('li', { 'data-ok': String(e.ok) },
          el('span', { class: cls }, `${mark} ${e.name}`), ` ${word}: ${e.detail}`));
      }
      section.append(el('h3', {}, 'Expectations'), list);
    }
    return section;
  }

  // ---- controls and legend -----------------------------------------------------------

  function controls() {
    const radio = (value, label) => {
      const input = el('input', { type: 'radio', name: 'rows', value, id: `rows-${value}` });
      input.checked = state.rows === value;
      input.addEventListener('change', () => {
        state.rows = value;
        try {
          history.replaceState(null, '', '#rows=' + value);
        } catch (e) {
          // Some browsers refuse for file:// pages; the choice is then just not kept.
        }
        drawAll();
      });
      return el('label', { for: `rows-${value}` }, input, ' ' + label);
    };
    const swatch = (colour, label, style) => el('span', {},
      el('span', { class: 'swatch', style: `background:${colour};${style || ''}` }), label);
    return el('div', { class: 'controls' },
      el('span', {}, 'One row per ', radio('slot', 'concurrency slot'), ' ', radio('tool', 'tool')),
      el('div', { class: 'legend' },
        OUTCOME_NAMES.map((o) => swatch(OUTCOME_COLOURS[o], o)),
        swatch(QUEUE_COLOUR, 'queue wait', 'height:4px'),
        swatch('#ffffff', 'critical path', `border:2px solid ${INK}`)));
  }

  // ---- one run -------------------------------------------------------------------------

  function timelineSection(run, runIndex) {
    const attempts = run.calls.reduce((n, c) => n + c.attempts, 0);
    const shown = condensed[runIndex];
    const timeline = el('canvas', { class: 'timeline', 'data-mode': run.mode });
    const figure = el('figure', { id: `timeline-${run.mode}` }, timeline);
    const critical = new Set(derived.critical_paths[runIndex] || []);
    const chart = makeTimeline(timeline, run, critical, timelineAxis[runIndex]);
    figures.push({ draw: () => {
      const drawn = chart.draw();
      figure.setAttribute('data-attempt-segments', String(drawn.segments));
      figure.setAttribute('data-markers', String(drawn.markers));
      return drawn;
    } });
    return el('section', { class: 'run', 'data-mode': run.mode },
      el('h3', {}, shown
        ? `${modeLabel(run)} · wall ${fmtSecs(run.wall_s)} · the first ${shown.shown.toLocaleString('en')} of ` +
          `${shown.calls.toLocaleString('en')} calls to start · ${attempts.toLocaleString('en')} attempts`
        : `${modeLabel(run)} · wall ${fmtSecs(run.wall_s)} · ${run.calls.length} calls · ${attempts} attempts`),
      figure);
  }

  function inflightSection(run, runIndex) {
    const canvas = el('canvas', { class: 'inflight', 'data-mode': run.mode });
    const c = condensed[runIndex];
    figures.push({ draw: () => (c ? drawInflightCondensed(canvas, run, c) : drawInflight(canvas, run)) });
    return el('section', { class: 'run', 'data-mode': run.mode },
      el('h3', {}, `${modeLabel(run)} · global limit ${run.max_concurrency}`),
      el('figure', { id: `inflight-${run.mode}` }, canvas));
  }

  /** The attempts of a call; a report without attempt detail gets one bar per call. */
  function spansOf(call) {
    if (call.attempt_spans && call.attempt_spans.length) return call.attempt_spans;
    if (call.start_s === null || call.start_s === undefined || call.attempts === 0) return [];
    return [{ start_s: call.start_s, end_s: call.end_s, outcome: call.status }];
  }

  /** Rows where no two calls overlap: the lowest free row for each call in start order. */
  function packRows(indices, calls) {
    const order = indices.slice().sort((a, b) => calls[a].start_s - calls[b].start_s || a - b);
    const ends = [];
    const rows = [];
    for (const i of order) {
      let row = ends.findIndex((end) => end <= calls[i].start_s + 1e-12);
      if (row < 0) {
        row = ends.length;
        ends.push(0);
        rows.push([]);
      }
      ends[row] = calls[i].end_s;
      rows[row].push(i);
    }
    return rows;
  }

  /** Rows of calls: [{label, calls (sorted by start), first (of a group)}]. */
  function layout(run) {
    const calls = run.calls;
    const started = [];
    const unstarted = [];
    calls.forEach((c, i) => (c.start_s === null || c.start_s === undefined ? unstarted : started).push(i));
    const rows = [];
    if (state.rows === 'slot') {
      packRows(started, calls).forEach((r, k) => rows.push({ label: `slot ${k + 1}`, calls: r, first: k === 0 }));
    } else {
      const byTool = new Map();
      for (const i of started) {
        if (!byTool.has(calls[i].tool)) byTool.set(calls[i].tool, []);
        byTool.get(calls[i].tool).push(i);
      }
      for (const [tool, indices] of [...byTool.entries()].sort()) {
        packRows(indices, calls).forEach((r, k) => rows.push({ label: k === 0 ? tool : '', calls: r, first: k === 0 }));
      }
    }
    if (unstarted.length) {
      rows.push({ label: `never ran (${unstarted.length})`, calls: unstarted.sort((a, b) => calls[a].end_s - calls[b].end_s), first: true,
        markers: true });
    }
    return rows;
  }

  /** Room for the widest row label; one width for every chart, so their time axes line up. */
  function gutterWidth(width) {
    if (labelWidth === null) {
      const measure = document.createElement('canvas').getContext('2d');
      measure.font = FONT;
      const labels = runs.flatMap((r) => Object.keys(r.tools).map((t) => (t.length > 16 ? t.slice(0, 15) + '…' : t))
        .concat([`slot ${r.max_concurrency}`, `never ran (${r.calls.length})`, String(r.calls.length)]));
      labelWidth = Math.max(...labels.map((t) => measure.measureText(t).width));
    }
    return Math.round(Math.min(width * 0.25, Math.max(48, labelWidth + 12)));
  }

  function makeTimeline(canvas, run, critical, timelineHorizon) {
    let geometry = null;
    canvas.addEventListener('mousemove', (event) => {
      const hit = geometry && geometry.hit(event);
      if (hit === null || hit === undefined) {
        tooltip.hide();
      } else {
        tooltip.show(event, callDetails(run, hit, critical.has(hit)));
      }
    });
    canvas.addEventListener('mouseleave', () => tooltip.hide());
    return {
      draw() {
        const rows = layout(run);
        const width = canvas.parentElement.clientWidth || 1200;
        const rowHeight = Math.max(4, Math.min(rows.length <= 3 ? 26 : 18, Math.floor(420 / Math.max(1, rows.length))));
        const top = 6;
        const height = top + rows.length * rowHeight + 40;
        const ctx = setupCanvas(canvas, width, height);
        const x0 = gutterWidth(width);
        const x1 = width - 12;
        const px = (x1 - x0) / timelineHorizon;
        const x = (s) => x0 + s * px;
        const strip = rowHeight >= 10 ? 3 : 1;
        const paths = {};
        const path = (colour) => paths[colour] || (paths[colour] = new Path2D());
        const links = new Path2D();
        let segments = 0;
        let markers = 0;

        // The axis and its grid first, so bars cover the grid lines.
        drawTimeAxis(ctx, x0, x1, top + rows.length * rowHeight + 2, top, timelineHorizon, 'time since the run started');
        ctx.fillStyle = MUTED;
        ctx.textAlign = 'right';
        ctx.textBaseline = 'middle';
        const labelEvery = Math.ceil(14 / rowHeight);
        rows.forEach((row, r) => {
          const y = top + r * rowHeight;
          if (row.first && r > 0) {
            ctx.fillStyle = RULE;
            ctx.fillRect(x0, y, x1 - x0, 1);
            ctx.fillStyle = MUTED;
          }
          if (row.label && (state.rows === 'tool' || row.markers || r % labelEvery === 0)) {
            ctx.fillText(row.label.length > 16 ? row.label.slice(0, 15) + '…' : row.label, x0 - 6, y + rowHeight / 2);
          }
          for (const i of row.calls) {
            const call = run.calls[i];
            if (row.markers) {
              const cx = x(call.end_s);
              path(OUTCOME_COLOURS[call.status] || MUTED).rect(cx - 1.5, y + 1, 3, Math.max(2, rowHeight - 2));
              markers += 1;
              continue;
            }
            if (typeof call.queued_s === 'number' && call.start_s > call.queued_s) {
              path(QUEUE_COLOUR).rect(x(call.queued_s), y, Math.max(1, (call.start_s - call.queued_s) * px), strip);
            }
            const spans = spansOf(call);
            let previousEnd = null;
            for (const s of spans) {
              if (previousEnd !== null && s.start_s > previousEnd) {
                links.moveTo(x(previousEnd), y + (rowHeight + strip) / 2);
                links.lineTo(x(s.start_s), y + (rowHeight + strip) / 2);
              }
              // A pixel of white at the end of a wide bar keeps back-to-back calls apart.
              const w = (s.end_s - s.start_s) * px;
              path(OUTCOME_COLOURS[s.outcome] || MUTED)
                .rect(x(s.start_s), y + strip, w >= 4 ? w - 1 : Math.max(1, w), rowHeight - strip - 1);
              previousEnd = s.end_s;
              segments += 1;
            }
          }
        });
        ctx.lineWidth = 1;
        ctx.strokeStyle = '#444444';
        ctx.stroke(links);
        for (const [colour, p] of Object.entries(paths)) {
          ctx.fillStyle = colour;
          ctx.fill(p);
        }
        // The critical path on top: outlines, and a thin line from each call to the next.
        const rowOf = new Map();
        rows.forEach((row, r) => row.calls.forEach((i) => rowOf.set(i, r)));
        const chain = (derived.critical_paths[runs.indexOf(run)] || []).filter((i) => rowOf.has(i));
        ctx.strokeStyle = INK;
        ctx.lineWidth = 2;
        let previous = null;
        for (const i of chain) {
          const call = run.calls[i];
          const y = top + rowOf.get(i) * rowHeight;
          const start = call.start_s === null || call.start_s === undefined ? call.end_s : call.start_s;
          ctx.strokeRect(x(start) - 1, y + strip - 1, Math.max(2, (call.end_s - start) * px) + 2, rowHeight - strip + 1);
          if (previous) {
            ctx.save();
            ctx.lineWidth = 1;
            ctx.setLineDash([3, 2]);
            ctx.beginPath();
            ctx.moveTo(previous.x, previous.y);
            ctx.lineTo(x(start), y + rowHeight / 2);
            ctx.stroke();
            ctx.restore();
          }
          previous = { x: x(call.end_s), y: y + rowHeight / 2 };
        }
        // Where things are, for anyone scripting the page (the browser test hovers with it).
        Object.assign(canvas.dataset, { x0, x1, top, rowHeight, horizon: timelineHorizon, rows: rows.length });

        geometry = {
          hit(event) {
            const box = canvas.getBoundingClientRect();
            const r = Math.floor((event.clientY - box.top - top) / rowHeight);
            if (r < 0 || r >= rows.length) return null;
            const t = (event.clientX - box.left - x0) / px;
            const slack = 3 / px;
            const list = rows[r].calls;
            const key = (i) => (rows[r].markers ? run.calls[i].end_s : run.calls[i].start_s);
            // The last call that starts at or before t (rows are sorted by start).
            let lo = 0;
            let hi = list.length - 1;
            let found = -1;
            while (lo <= hi) {
              const mid = (lo + hi) >> 1;
              if (key(list[mid]) <= t + slack) {
                found = mid;
                lo = mid + 1;
              } else {
                hi = mid - 1;
              }
            }
            for (let k = found; k >= 0 && k >= found - 2; k -= 1) {
              if (t <= run.calls[list[k]].end_s + slack) return list[k];
            }
            return null;
          },
        };
        return { segments, markers };
      },
    };
  }

  function callDetails(run, i, critical) {
    const c = run.calls[i];
    const lines = [
      el('div', {}, el('b', {}, c.id), ` · ${c.tool} · `,
        el('span', { style: `color:${OUTCOME_COLOURS[c.status] || INK};font-weight:600` }, c.status),
        critical ? ' · on the critical path' : ''),
    ];
    if (typeof c.start_s === 'number') {
      const queued = typeof c.queued_s === 'number' ? c.queued_s : c.start_s;
      lines.push(el('div', {}, `ready ${fmtSecs(queued)} · started ${fmtSecs(c.start_s)} · ended ${fmtSecs(c.end_s)}`));
      lines.push(el('div', {}, `queue wait ${fmtSecs(c.start_s - queued)} · service ${fmtSecs(c.end_s - c.start_s)}`));
    } else {
      lines.push(el('div', {}, `never started; ended at ${fmtSecs(c.end_s)}`));
    }
    const spans = c.attempt_spans || [];
    spans.forEach((s, k) => {
      const backoff = k > 0 ? ` after a backoff of ${fmtSecs(s.start_s - spans[k - 1].end_s)}` : '';
      lines.push(el('div', {}, `attempt ${k + 1}: ${fmtSecs(s.start_s)} → ${fmtSecs(s.end_s)} ` +
        `(${fmtSecs(s.end_s - s.start_s)}), ${s.outcome}${backoff}`));
    });
    if (!spans.length) lines.push(el('div', {}, `attempts: ${c.attempts}`));
    lines.push(el('div', {}, 'depends on: ' + (c.deps.length ? c.deps.join(', ') : 'nothing')));
    if (c.cause) lines.push(el('div', {}, `skipped because ${c.cause} failed`));
    if (c.error) lines.push(el('div', {}, `error: ${c.error}`));
    return el('div', {}, lines);
  }

  // ---- calls in flight -------------------------------------------------------------------

  /** Steps of calls in flight: [[time, count after it]], slots released before reused. */
  function inFlightSteps(calls) {
    const events = [];
    for (const c of calls) {
      if (typeof c.start_s !== 'number') continue;
      events.push([c.start_s, 1], [c.end_s, -1]);
    }
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const steps = [[0, 0]];
    let n = 0;
    let peak = 0;
    for (const [t, d] of events) {
      n += d;
      peak = Math.max(peak, n);
      if (steps[steps.length - 1][0] === t) steps[steps.length - 1][1] = n;
      else steps.push([t, n]);
    }
    return { steps, peak };
  }

  function drawInflight(canvas, run) {
    const tools = Object.keys(run.tools).filter((t) => run.tools[t].count > 0).sort();
    const bands = [{ label: 'all calls', calls: run.calls, limit: run.max_concurrency, height: 80 }].concat(
      tools.map((t) => ({
        label: t,
        calls: run.calls.filter((c) => c.tool === t),
        limit: run.tools[t].max_concurrency || null,
        rate: run.tools[t].rate_limit_per_s || null,
        height: 34,
      })));
    const width = canvas.parentElement.clientWidth || 1200;
    const gap = 10;
    const titleHeight = 16;
    const top = 4;
    const height = top + bands.reduce((h, b) => h + titleHeight + b.height + gap, 0) + 34;
    const ctx = setupCanvas(canvas, width, height);
    const x0 = gutterWidth(width);
    const x1 = width - 12;
    const x = (s) => x0 + (s / horizon) * (x1 - x0);
    let y = top;
    const peaks = {};
    for (const band of bands) {
      const { steps, peak } = inFlightSteps(band.calls);
      peaks[band.label] = { peak, limit: band.limit };
      // The band's title above it, so it never covers the line.
      ctx.textAlign = 'left';
      ctx.textBaseline = 'top';
      ctx.fillStyle = INK;
      const limitText = band.limit ? `limit ${band.limit}` : 'no own limit';
      const rateText = band.rate ? ` · at most ${band.rate} starts/s` : '';
      ctx.fillText(`${band.label}: calls in flight, peak ${peak} · ${limitText}${rateText}`, x0, y);
      y += titleHeight;
      const yMax = Math.max(1, peak, band.limit || 0);
      const yOf = (n) => y + band.height - (n / yMax) * band.height;
      const line = new Path2D();
      line.moveTo(x(0), yOf(0));
      for (let k = 0; k < steps.length; k += 1) {
        const [t, n] = steps[k];
        line.lineTo(x(t), yOf(k === 0 ? 0 : steps[k - 1][1]));
        line.lineTo(x(t), yOf(n));
      }
      line.lineTo(x(horizon), yOf(steps[steps.length - 1][1]));
      const area = new Path2D(line);
      area.lineTo(x(horizon), yOf(0));
      area.closePath();
      fillUnder(ctx, area, line, 0.18);
      ctx.strokeStyle = RULE;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x0, y + band.height + 0.5);
      ctx.lineTo(x1, y + band.height + 0.5);
      ctx.stroke();
      limitAndScale(ctx, x0, x1, yOf, band.limit, yMax);
      y += band.height + gap;
    }
    drawTimeAxis(ctx, x0, x1, y - gap + 2, top, horizon, 'time since the run started');
    canvas.parentElement.setAttribute('data-peaks', JSON.stringify(peaks));
    return {};
  }

  /** A band's limit as a dashed line (when it has one), and its scale: 0 and the top value, in calls. */
  // A count over time: the area under it, tinted, and its line on top.
  function fillUnder(ctx, area, line, alpha) {
    ctx.fillStyle = `rgba(0, 114, 178, ${alpha})`;
    ctx.fill(area);
    ctx.strokeStyle = LINE_COLOUR;
    ctx.lineWidth = 1.25;
    ctx.stroke(line);
  }

  function limitAndScale(ctx, x0, x1, yOf, limit, yMax) {
    if (limit) {
      ctx.save();
      ctx.strokeStyle = INK;
      ctx.setLineDash([5, 4]);
      ctx.beginPath();
      ctx.moveTo(x0, Math.round(yOf(limit)) + 0.5);
      ctx.lineTo(x1, Math.round(yOf(limit)) + 0.5);
      ctx.stroke();
      ctx.restore();
    }
    ctx.fillStyle = MUTED;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText('0', x0 - 4, yOf(0));
    ctx.fillText(String(yMax), x0 - 4, yOf(yMax) + 5);
  }

  /** Calls in flight of a condensed run: per bucket the most (the line) and the mean (the area). */
  function drawInflightCondensed(canvas, run, c) {
    const horizon = c.bucket_s * c.in_flight[0].max.length;
    const width = canvas.parentElement.clientWidth || 1200;
    const gap = 10;
    const titleHeight = 16;
    const top = 4;
    const heightOf = (k) => (k === 0 ? 80 : 34);
    const height = top + c.in_flight.reduce((h, b, k) => h + titleHeight + heightOf(k) + gap, 0) + 34;
    const ctx = setupCanvas(canvas, width, height);
    const x0 = gutterWidth(width);
    const x1 = width - 12;
    const buckets = c.in_flight[0].max.length;
    const bx = (b) => x0 + ((b * c.bucket_s) / horizon) * (x1 - x0);
    let y = top;
    const peaks = {};
    c.in_flight.forEach((band, k) => {
      const tool = k === 0 ? null : run.tools[band.label] || {};
      const limit = k === 0 ? run.max_concurrency : tool.max_concurrency || null;
      peaks[band.label] = { peak: band.peak, limit };
      ctx.textAlign = 'left';
      ctx.textBaseline = 'top';
      ctx.fillStyle = INK;
      ctx.fillText(`${band.label}: calls in flight, peak ${band.peak} (line: most per bucket, area: mean) · ` +
        (limit ? `limit ${limit}` : 'no own limit'), x0, y);
      y += titleHeight;
      const h = heightOf(k);
      const yMax = Math.max(1, band.peak, limit || 0);
      const yOf = (n) => y + h - (n / yMax) * h;
      const area = new Path2D();
      const line = new Path2D();
      area.moveTo(bx(0), yOf(0));
      line.moveTo(bx(0), yOf(band.max[0]));
      for (let b = 0; b < buckets; b += 1) {
        area.lineTo(bx(b), yOf(band.mean[b]));
        area.lineTo(bx(b + 1), yOf(band.mean[b]));
        line.lineTo(bx(b), yOf(band.max[b]));
        line.lineTo(bx(b + 1), yOf(band.max[b]));
      }
      area.lineTo(bx(buckets), yOf(0));
      area.closePath();
      fillUnder(ctx, area, line, 0.25);
      limitAndScale(ctx, x0, x1, yOf, limit, yMax);
      y += h + gap;
    });
    drawTimeAxis(ctx, x0, x1, y - gap + 2, top, horizon, 'time since the run started');
    canvas.parentElement.setAttribute('data-peaks', JSON.stringify(peaks));
    canvas.parentElement.setAttribute('data-buckets', String(buckets));
    return {};
  }

  function occupancySection(run, c) {
    const horizon = c.bucket_s * c.in_flight[0].max.length;
    const canvas = el('canvas', { class: 'occupancy', 'data-mode': run.mode });
    const figure = el('figure', { id: `occupancy-${run.mode}` }, canvas);
    figures.push({ draw: () => {
      const occ = c.occupancy;
      const width = canvas.parentElement.clientWidth || 1200;
      const rowHeight = Math.max(3, Math.min(12, Math.floor(320 / Math.max(1, occ.rows.length))));
      const top = 4;
      const height = top + occ.rows.length * rowHeight + 40;
      const ctx = setupCanvas(canvas, width, height);
      const x0 = gutterWidth(width);
      const x1 = width - 12;
      const bx = (b) => x0 + ((b * c.bucket_s) / horizon) * (x1 - x0);
      let cells = 0;
      occ.rows.forEach((row, r) => {
        const y = top + r * rowHeight;
        for (let b = 0; b < row.length; b += 1) {
          if (row[b] === 0) continue;
          ctx.fillStyle = `rgba(0, 114, 178, ${(row[b] / 100).toFixed(2)})`;
          ctx.fillRect(bx(b), y, Math.max(1, bx(b + 1) - bx(b)), rowHeight - (rowHeight > 4 ? 1 : 0));
          cells += 1;
        }
      });
      ctx.fillStyle = MUTED;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      ctx.fillText(occ.group > 1 ? `slots 1–${occ.group}` : 'slot 1', x0 - 6, top + rowHeight / 2);
      const last = occ.rows.length - 1;
      if (last > 0) {
        const from = last * occ.group + 1;
        ctx.fillText(from === occ.slots ? `slot ${occ.slots}` : `${from}–${occ.slots}`, x0 - 6, top + last * rowHeight + rowHeight / 2);
      }
      drawTimeAxis(ctx, x0, x1, top + occ.rows.length * rowHeight + 2, top, horizon, 'time since the run started');
      figure.setAttribute('data-rows', String(occ.rows.length));
      figure.setAttribute('data-cells', String(cells));
      return {};
    } });
    return el('section', { class: 'run', 'data-mode': run.mode },
      el('h3', {}, `${modeLabel(run)} · ${c.occupancy.slots} slots` +
        (c.occupancy.group > 1 ? `, ${c.occupancy.group} per row` : '')),
      figure);
  }

  function serviceSection(run, c) {
    const horizon = c.bucket_s * c.in_flight[0].max.length;
    const canvas = el('canvas', { class: 'service', 'data-mode': run.mode });
    const figure = el('figure', { id: `service-${run.mode}` }, canvas);
    figures.push({ draw: () => {
      const width = canvas.parentElement.clientWidth || 1200;
      const top = 16;
      const h = 140;
      const ctx = setupCanvas(canvas, width, top + h + 40);
      const x0 = gutterWidth(width);
      const x1 = width - 12;
      const bx = (b) => x0 + (((b + 0.5) * c.bucket_s) / horizon) * (x1 - x0);
      let yMax = 1e-9;
      for (const b of c.service) if (b.max_s !== null) yMax = Math.max(yMax, b.max_s);
      const yOf = (v) => top + h - (v / yMax) * h;
      const series = [['max_s', '#999999'], ['p99_s', '#D55E00'], ['p50_s', LINE_COLOUR]];
      let points = 0;
      for (const [key, colour] of series) {
        const line = new Path2D();
        let open = false;
        c.service.forEach((b, k) => {
          if (b[key] === null) {
            open = false;
            return;
          }
          if (open) line.lineTo(bx(k), yOf(b[key]));
          else line.moveTo(bx(k), yOf(b[key]));
          open = true;
          points += 1;
        });
        ctx.strokeStyle = colour;
        ctx.lineWidth = 1.25;
        ctx.stroke(line);
      }
      ctx.textAlign = 'left';
      ctx.textBaseline = 'top';
      ctx.fillStyle = INK;
      ctx.fillText('service time of the calls ending in each bucket: p50 (blue), p99 (orange), max (grey)', x0, 0);
      ctx.fillStyle = MUTED;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      ctx.fillText('0', x0 - 4, yOf(0));
      ctx.fillText(fmtSecs(yMax), x0 - 4, yOf(yMax) + 5);
      drawTimeAxis(ctx, x0, x1, top + h + 2, top, horizon, 'time since the run started');
      figure.setAttribute('data-points', String(points));
      return {};
    } });
    return el('section', { class: 'run', 'data-mode': run.mode }, el('h3', {}, modeLabel(run)), figure);
  }

  // ---- per-tool latency ------------------------------------------------------------------

  function toolTable() {
    const head = ['run', 'tool', 'kind', 'calls', 'ok', 'failed', 'not run', 'retries', 'p50', 'p90', 'p99', 'max',
      'queue p99', 'own limit'];
    const table = el('table', { id: 'tool-latency' },
      el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { class: i < 3 ? 'name' : null }, h)))));
    const body = el('tbody');
    for (const run of runs) {
      for (const [name, t] of Object.entries(run.tools)) {
        const failed = (t.error || 0) + (t.timeout || 0);
        const notRun = (t.skipped || 0) + (t.cancelled || 0);
        const limit = [t.max_concurrency ? `${t.max_concurrency} in flight` : null,
          t.rate_limit_per_s ? `${t.rate_limit_per_s}/s` : null].filter(Boolean).join(', ') || '–';
        body.append(el('tr', {},
          el('td', { class: 'name' }, modeLabel(run)), el('td', { class: 'name' }, name),
          el('td', { class: 'name' }, t.kind || ''),
          [t.count, t.ok, failed, notRun, t.retries || 0].map((v) => el('td', {}, String(v))),
          [t.p50_s, t.p90_s, t.p99_s, t.max_s, t.queue_p99_s].map((v) => el('td', {}, fmtSecs(v))),
          el('td', {}, limit)));
      }
    }
    table.append(body);
    return el('section', {},
      el('h2', {}, 'Latency per tool'),
      el('p', { class: 'note' }, 'Service time (every attempt and backoff) of each tool\'s calls, from HDR ' +
        'histograms (3 significant digits); queue p99 is the wait for a slot.'),
      el('div', { class: 'table-wrap' }, table));
  }
})();
