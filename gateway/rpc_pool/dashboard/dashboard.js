// The RPC pool dashboard: reads the controller's JSON API and draws the page. Everything a node
// reports is put on the page as text (textContent), never as HTML; charts are drawn on canvas here,
// with no library and nothing loaded from elsewhere.
'use strict';

const REFRESH_MS = 5000;
const CHART_WINDOW_MS = 3600 * 1000;
const EVENTS_SHOWN = 20;
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];

// el makes an element with `text` as its text content (never parsed as HTML).
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(path + ': HTTP ' + response.status);
  return response.json();
}

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

function clock(ms) {
  return new Date(ms).toISOString().substring(11, 19);
}

// History reads every page of a history route from `since` (the API pages oldest first).
async function history(path, since, kind) {
  const records = [];
  let next = since;
  for (let page = 0; page < 20 && next !== null; ++page) {
    const body = await getJson(path + '?kind=' + kind + '&since=' + next + '&limit=1000');
    records.push(...body.records);
    next = body.next_since;
  }
  return records;
}

// prepareCanvas sizes the canvas for the screen's pixel ratio and returns its context and size.
function prepareCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  return { context, width, height };
}

// drawChart draws `series` ([{colour, points: [[t, value]]}]) over [from, to] with `marks`
// ([{t, colour}]) as vertical ticks; `axes` adds labels. Sets data-drawn once lines are drawn.
function drawChart(canvas, series, marks, from, to, axes) {
  const { context, width, height } = prepareCanvas(canvas);
  const pad = axes ? { left: 70, right: 12, top: 12, bottom: 24 } : { left: 2, right: 2, top: 4, bottom: 4 };
  const values = series.flatMap((s) => s.points.map((p) => p[1]));
  const muted = getComputedStyle(document.body).getPropertyValue('--muted') || '#888';
  context.font = '12px system-ui, sans-serif';
  context.fillStyle = muted;
  if (values.length === 0) {
    if (axes) context.fillText('no heartbeats recorded yet', pad.left, height / 2);
    canvas.dataset.drawn = '0';
    return;
  }
  // A heartbeat recorded after the overview was taken would fall off the right edge.
  to = Math.max(to, ...series.flatMap((s) => s.points.map((p) => p[0])));
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high - low < 4) { low -= 2; high += 2; }
  const x = (t) => pad.left + ((t - from) / (to - from)) * (width - pad.left - pad.right);
  const y = (v) => pad.top + (1 - (v - low) / (high - low)) * (height - pad.top - pad.bottom);
  if (axes) {
    context.strokeStyle = muted;
    context.globalAlpha = 0.3;
    context.lineWidth = 1;
    for (let i = 0; i <= 4; ++i) {
      const v = low + ((high - low) * i) / 4;
      context.beginPath();
      context.moveTo(pad.left, y(v));
      context.lineTo(width - pad.right, y(v));
      context.stroke();
    }
    context.globalAlpha = 1;
    for (let i = 0; i <= 4; ++i) {
      const v = low + ((high - low) * i) / 4;
      context.fillText(String(Math.round(v)), 4, y(v) + 4);
    }
    context.fillText(clock(from), pad.left, height - 6);
    const end = clock(to);
    context.fillText(end, width - pad.right - context.measureText(end).width, height - 6);
  }
  for (const mark of marks) {
    if (mark.t < from) continue;
    context.strokeStyle = mark.colour;
    context.lineWidth = 2;
    context.beginPath();
    context.moveTo(x(mark.t), pad.top);
    context.lineTo(x(mark.t), height - pad.bottom);
    context.stroke();
  }
  for (const s of series) {
    context.strokeStyle = s.colour;
    context.fillStyle = s.colour;
    context.lineWidth = 2;
    context.beginPath();
    s.points.forEach(([t, v], i) => (i === 0 ? context.moveTo(x(t), y(v)) : context.lineTo(x(t), y(v))));
    context.stroke();
    for (const [t, v] of s.points) {
      context.beginPath();
      context.arc(x(t), y(v), 2.5, 0, 2 * Math.PI);
      context.fill();
    }
  }
  canvas.dataset.drawn = '1';
}

function eventMarks(events) {
  const marks = [];
  for (const record of events) {
    const kind = record.data && record.data.event;
    if (kind === 'penalised' || kind === 'removed') marks.push({ t: record.at_ms, colour: '#c62828' });
    if (kind === 'restored') marks.push({ t: record.at_ms, colour: '#1a7f37' });
  }
  return marks;
}

function renderPool(pool) {
  document.title = pool.name + ' · RPC pool';
  document.getElementById('pool-name').textContent = pool.name;
  document.getElementById('pool-fee').textContent = pool.fee_percent + ' %';
  document.getElementById('pool-contact').textContent = pool.contact || '–';
  document.getElementById('pool-selection').textContent = pool.selection;
  const n = pool.nodes;
  document.getElementById('pool-counts').textContent =
    n.in_service + ' in service · ' + n.cooldown + ' in cooldown · ' + n.removed + ' removed · capacity ' + pool.capacity;
  document.getElementById('pool-blocks').textContent = '#' + pool.pool_best + ' / #' + pool.pool_finalized;
}

function stateCell(node, now) {
  const cell = el('td');
  const label = { in_service: 'in service', cooldown: 'penalised', removed: 'removed' }[node.state] || node.state;
  cell.append(el('span', label, 'badge ' + node.state));
  if (node.state === 'cooldown') {
    cell.append(el('span', 'cooldown ' + duration(node.cooldown_ms) + ', back in ' +
      duration(Math.max(0, node.cooldown_until_ms - now)), 'sub'));
  }
  return cell;
}

// chartStart is where the charts' time axis begins: the oldest heartbeat shown, at most an hour
// back, so a young pool's few minutes fill the width instead of a sliver at its right edge.
function chartStart(histories, now) {
  let earliest = now;
  for (const records of Object.values(histories)) {
    if (records.length > 0) earliest = Math.min(earliest, records[0].at_ms);
  }
  return Math.max(now - CHART_WINDOW_MS, Math.min(earliest, now - 5000));
}

function renderNodes(body, histories, events, now, from) {
  const tbody = document.querySelector('#nodes tbody');
  const rows = [];
  for (const node of body.nodes) {
    const row = el('tr');
    row.dataset.node = node.id;
    row.dataset.state = node.state;
    if (node.state !== 'in_service') row.className = 'penalised';
    const idCell = el('td', node.id, 'id');
    idCell.title = node.id;  // the whole ID when a long one is cut short
    row.append(idCell);
    row.append(stateCell(node, now));
    row.append(el('td', node.penalties, 'num'));
    row.append(el('td', node.last_penalty === null ? '–' : node.last_penalty.replace('_', ' ')));
    const last = node.points.last_period;
    row.append(el('td', last === null ? '–' : last.points.toLocaleString('en'), 'num'));
    const cur = node.points.this_period;
    const thisCell = el('td', cur.requests.toLocaleString('en') + ' requests', 'num');
    thisCell.append(el('span', duration(cur.live_ms) + ' in service', 'sub'));
    row.append(thisCell);
    row.append(el('td', node.latency_ms === null ? '–' : node.latency_ms + ' ms', 'num'));
    const lag = body.pool_best - node.best;
    const blocks = el('td', '#' + node.best + ' / #' + node.finalized, 'num');
    if (lag > 0) blocks.append(el('span', lag + ' behind', 'sub'));
    row.append(blocks);
    row.append(el('td', duration(node.heartbeat_age_ms) + ' ago', 'num'));
    const chartCell = el('td');
    const canvas = el('canvas', null, 'spark');
    canvas.width = 160;
    canvas.height = 36;
    chartCell.append(canvas);
    row.append(chartCell);
    rows.push({ row, canvas, id: node.id });
  }
  tbody.replaceChildren(...rows.map((r) => r.row));
  // Drawn once the rows are in the document, so the canvases have their laid-out size.
  rows.forEach(({ canvas, id }, i) => {
    const points = (histories[id] || []).map((r) => [r.at_ms, r.data.best]);
    const marks = eventMarks(events.filter((e) => e.node === id));
    drawChart(canvas, [{ colour: COLOURS[i % COLOURS.length], points }], marks, from, now, false);
  });
  return rows.map((r, i) => ({ id: r.id, colour: COLOURS[i % COLOURS.length] }));
}

function renderPoolChart(histories, events, colours, now, from) {
  const series = colours.map(({ id, colour }) => ({
    colour,
    points: (histories[id] || []).map((r) => [r.at_ms, r.data.best]),
  }));
  drawChart(document.getElementById('pool-chart'), series, eventMarks(events), from, now, true);
  const legend = document.getElementById('pool-legend');
  legend.replaceChildren(...colours.map(({ id, colour }) => {
    const item = el('span', id);
    item.style.setProperty('--swatch', colour);
    return item;
  }));
}

function renderEvents(events) {
  const tbody = document.querySelector('#events tbody');
  const recent = events.slice(-EVENTS_SHOWN).reverse();
  if (recent.length === 0) {
    const row = el('tr');
    const cell = el('td', 'No events in the last day.');
    cell.colSpan = 4;
    row.append(cell);
    tbody.replaceChildren(row);
    return;
  }
  tbody.replaceChildren(...recent.map((record) => {
    const d = record.data || {};
    const detail = [];
    if (d.offence && d.offence !== 'none') detail.push(d.offence.replace('_', ' '));
    if (d.cooldown_ms) detail.push('cooldown ' + duration(d.cooldown_ms));
    if (d.refusal) detail.push(d.refusal.toLowerCase().replace(/_/g, ' '));
    const row = el('tr');
    row.append(el('td', new Date(record.at_ms).toISOString().replace('T', ' ').substring(0, 19), 'num'));
    row.append(el('td', record.node === null ? '–' : record.node, 'id'));
    row.append(el('td', d.event || record.kind));
    row.append(el('td', detail.join(', ') || '–'));
    return row;
  }));
}

async function refresh() {
  const status = document.getElementById('status');
  try {
    const [pool, nodes] = await Promise.all([getJson('/api/v1/pool'), getJson('/api/v1/nodes')]);
    const now = nodes.at_ms;
    const since = now - CHART_WINDOW_MS;
    const events = await history('/api/v1/history', now - 24 * 3600 * 1000, 'event');
    const histories = {};
    await Promise.all(nodes.nodes.map(async (node) => {
      histories[node.id] = await history('/api/v1/nodes/' + encodeURIComponent(node.id) + '/history', since, 'heartbeat');
    }));
    renderPool(pool);
    const from = chartStart(histories, now);
    const colours = renderNodes(nodes, histories, events, now, from);
    renderPoolChart(histories, events, colours, now, from);
    renderEvents(events);
    status.className = '';
    status.textContent = 'Updated ' + clock(now) + ' UTC; refreshes every ' + REFRESH_MS / 1000 + ' s.';
    document.body.dataset.loaded = '1';
  } catch (error) {
    status.className = 'error';
    status.textContent = 'Cannot reach the pool controller: ' + error.message;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  refresh();
  setInterval(refresh, REFRESH_MS);
});
