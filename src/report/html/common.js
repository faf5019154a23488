// Helpers every parabench page shares: DOM building, units, axes, canvas set-up, the
// tooltip. No library: the page must open offline and stay small.
'use strict';

/** Okabe-Ito colours, distinguishable with the common colour-vision deficiencies. */
const OUTCOME_COLOURS = {
  ok: '#009E73',        // bluish green
  error: '#D55E00',     // vermillion
  timeout: '#E69F00',   // orange
  skipped: '#999999',   // grey: never ran
  cancelled: '#CC79A7', // reddish purple
};
const OUTCOME_NAMES = ['ok', 'error', 'timeout', 'skipped', 'cancelled'];
const QUEUE_COLOUR = '#56B4E9'; // sky blue
const LINE_COLOUR = '#0072B2';  // blue
const INK = '#1a1a1a';
const MUTED = '#5c5c5c';
const RULE = '#d9d9d9';
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';

/** An element with attributes (`class`, `data-*`, ...) and children (nodes or text). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
  }
  return node;
}

/** `12.50` → `12.5`, `100` stays `100`. */
/** A summary card: a label, a value (with `attrs`, such as an id), and a line of detail. */
function card(label, value, detail, attrs) {
  return el('div', { class: 'card' },
    el('div', { class: 'label' }, label),
    el('div', Object.assign({ class: 'value' }, attrs || {}), value),
    detail ? el('div', { class: 'detail' }, detail) : null);
}

function trimZeros(text) {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

/** Seconds in the unit a reader expects: 850 µs, 12.5 ms, 3.20 s, 2.5 min. */
function fmtSecs(s) {
  if (s === null || s === undefined || !isFinite(s)) return '–';
  const a = Math.abs(s);
  if (a === 0) return '0 s';
  if (a < 1e-6) return trimZeros((s * 1e9).toPrecision(3)) + ' ns';
  if (a < 1e-3) return trimZeros((s * 1e6).toPrecision(3)) + ' µs';
  if (a < 1) return trimZeros((s * 1e3).toPrecision(4)) + ' ms';
  if (a < 120) return s.toFixed(3) + ' s';
  return (s / 60).toFixed(1) + ' min';
}

/** The unit of an axis that ends at `max` seconds. */
function axisUnit(max) {
  if (max < 2e-3) return { name: 'µs', scale: 1e6 };
  if (max < 2) return { name: 'ms', scale: 1e3 };
  return { name: 's', scale: 1 };
}

/** Round tick values from 0 to `max` (in the axis's unit), about `count` of them. */
function niceTicks(max, count) {
  if (!(max > 0)) return [0];
  const raw = max / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const ticks = [];
  for (let v = 0; v <= max * (1 + 1e-9); v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Sizes a canvas for the device's pixel ratio; returns its context in CSS pixels. */
function setupCanvas(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.height = height + 'px';
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.font = FONT;
  return ctx;
}

/**
 * A horizontal time axis at `y` from `x0` to `x1` for times 0..`max` seconds, with
 * vertical grid lines up to `top`, and its title (with the unit) underneath.
 */
function drawTimeAxis(ctx, x0, x1, y, top, max, title) {
  const unit = axisUnit(max);
  const ticks = niceTicks(max * unit.scale, Math.max(2, Math.floor((x1 - x0) / 90)));
  ctx.save();
  ctx.strokeStyle = RULE;
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.lineWidth = 1;
  for (const t of ticks) {
    const x = Math.round(x0 + (t / unit.scale / max) * (x1 - x0)) + 0.5;
    if (x > x1 + 1) continue;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, y + 4);
    ctx.stroke();
    ctx.fillText(String(t), x, y + 6);
  }
  ctx.strokeStyle = INK;
  ctx.beginPath();
  ctx.moveTo(x0, y + 0.5);
  ctx.lineTo(x1, y + 0.5);
  ctx.stroke();
  ctx.fillStyle = INK;
  ctx.fillText(title + ' (' + unit.name + ')', (x0 + x1) / 2, y + 20);
  ctx.restore();
}

/** The shared tooltip: `show` with HTML built by `el`, at the pointer. */
const tooltip = {
  node: document.getElementById('tooltip'),
  show(event, content) {
    this.node.replaceChildren(content);
    this.node.hidden = false;
    const pad = 14;
    const { innerWidth: w, innerHeight: h } = window;
    const box = this.node.getBoundingClientRect();
    let x = event.clientX + pad;
    let y = event.clientY + pad;
    if (x + box.width > w) x = Math.max(0, event.clientX - pad - box.width);
    if (y + box.height > h) y = Math.max(0, event.clientY - pad - box.height);
    this.node.style.left = x + 'px';
    this.node.style.top = y + 'px';
  },
  hide() {
    this.node.hidden = true;
  },
};

/** Calls `fn` once the window stopped resizing for a moment. */
function onResize(fn) {
  let timer = null;
  let lastWidth = window.innerWidth;
  window.addEventListener('resize', () => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(timer);
    timer = setTimeout(fn, 120);
  });
}

/** The data block `id` written by the renderer. */
function readData(id) {
  return JSON.parse(document.getElementById(id).textContent);
}
