// Plant wizard, the viewer: the plant as it is in the page (saved or not) drawn four ways: the production flow,
// the PLC network, what each camera sees (the ROIs on its sensor), and the stations' results from the plant
// database (the saved file's services; GET metrics).
import { call } from './api.js';
import { el } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) if (c) e.append(c);
  return e;
}

/** every station with its line and area, in file order */
export function stationsOf(plant) {
  const out = [];
  for (const line of plant.lines || []) for (const area of line.areas || []) for (const station of area.stations || []) out.push({ line, area, station });
  return out;
}

const arr = (v) => (Array.isArray(v) ? v : []);
const named = (x) => `${x.id || '(no id)'}${x.name ? ` · ${x.name}` : ''}`;

function header(main, title, text) {
  main.textContent = '';
  main.append(el('h2', { class: 'pw-step-title', text: title }), el('p', { class: 'pw-help', text }));
}

async function flowView(main, state) {
  header(main, 'Production flow', 'Lines → areas → stations in order, and what each station inspects: the products and spots the process flow gives it.');
  const p = state.value;
  const byStation = new Map();
  for (const step of arr(p.processFlow)) {
    if (!byStation.has(step.station)) byStation.set(step.station, []);
    byStation.get(step.station).push(step);
  }
  const products = new Map(arr(p.products).map((x) => [x.id, x]));
  const root = el('div', { class: 'pw-flow', id: 'pw-flow' });
  for (const line of arr(p.lines)) {
    const row = el('section', { class: 'pw-flow-line', 'data-line': line.id }, el('h3', { text: `Line ${named(line)}` }));
    const chain = el('div', { class: 'pw-flow-chain' });
    for (const area of arr(line.areas)) {
      const box = el('div', { class: 'pw-flow-area' }, el('h4', { text: `Area ${named(area)}` }));
      for (const st of arr(area.stations)) {
        const steps = byStation.get(st.id) || [];
        const card = el('div', { class: `pw-flow-station${steps.length ? '' : ' pw-idle'}`, 'data-station': st.id }, el('strong', { text: named(st) }));
        if (!steps.length) card.append(el('p', { class: 'pw-note', text: 'inspects nothing (no process flow step)' }));
        for (const s of steps) {
          const prod = products.get(s.product);
          card.append(el('p', { class: 'pw-flow-step', 'data-product': s.product }, el('span', { class: 'pw-tag', text: `${s.product}${prod ? ` (program ${prod.program})` : ' (unknown product)'}` }), ` ${arr(s.spots).length} spots: ${arr(s.spots).join(', ')}`));
        }
        box.append(card);
      }
      chain.append(box);
    }
    row.append(chain);
    root.append(row);
  }
  main.append(root);
  if (state.sha && !state.dirty && !state.problems.length) {
    const pre = el('pre', { class: 'pw-pre', id: 'pw-mermaid', text: 'loading…' });
    main.append(el('details', {}, el('summary', { text: 'Mermaid diagram of the saved file (spotfusion plant graph)' }), pre));
    try {
      pre.textContent = (await call('GET', `graph/${encodeURIComponent(state.name)}`)).mermaid;
    } catch (err) {
      pre.textContent = err.message;
    }
  }
}

const ROLES = ['trigger', 'serial', 'program', 'model', 'busy', 'ack', 'done', 'resultOk', 'resultNok', 'resultCode'];

async function networkView(main, state) {
  header(main, 'PLC network', 'Per station: the PLC (protocol, address, route) with the address of each handshake tag, the cameras and the edge panel PC.');
  const table = el('table', { class: 'pw-table', id: 'pw-network' });
  table.append(el('thead', {}, el('tr', {}, ...['Line / area', 'Station', 'PLC', 'Protocol', 'Address', 'Tags', 'Cameras', 'Edge'].map((h) => el('th', { text: h })))));
  const body = el('tbody');
  for (const { line, area, station } of stationsOf(state.value)) {
    const d = station.devices || {};
    const plc = d.plc || {};
    const tags = plc.tags || {};
    const tagList = el('dl', { class: 'pw-tags' });
    for (const role of ROLES) if (tags[role]) tagList.append(el('dt', { text: role }), el('dd', { text: `${tags[role].address} (${tags[role].type})` }));
    for (const x of arr(tags.extra)) tagList.append(el('dt', { text: x.name }), el('dd', { text: `${x.address} (${x.type})` }));
    const port = plc.port ? `:${plc.port}` : '';
    body.append(
      el(
        'tr',
        { 'data-station': station.id },
        el('td', { text: `${line.id} / ${area.id}` }),
        el('td', { text: named(station) }),
        el('td', { text: plc.id || '' }),
        el('td', { text: plc.protocol || '' }),
        el('td', { text: `${plc.address || ''}${port}${plc.route ? ` route ${plc.route}` : ''}${plc.pollMs !== undefined ? ` · poll ${plc.pollMs} ms` : ''}` }),
        el('td', {}, tagList),
        el('td', { text: arr(d.cameras).map((c) => `${c.id} (${c.source}${c.address ? ` ${c.address}` : ''}${c.url ? ` ${c.url}` : ''})`).join('\n') }),
        el('td', { text: d.edge ? `${d.edge.id} ${d.edge.https ? 'https' : 'http'}://${d.edge.address}${d.edge.port ? `:${d.edge.port}` : ''}` : '' }),
      ),
    );
  }
  table.append(body);
  main.append(table);
}

/** each camera's ROIs, from every product's spots */
export function coverage(plant) {
  const seen = new Map();
  for (const prod of arr(plant.products)) {
    for (const spot of arr(prod.spots)) {
      for (const [cam, roi] of Object.entries(spot.roi || {})) {
        if (!seen.has(cam)) seen.set(cam, []);
        seen.get(cam).push({ product: prod.id, spot: spot.id, roi });
      }
    }
  }
  return seen;
}

/** does the ROI (rotation about its centre) lie inside the sensor? */
function inside(roi, w, h) {
  const rot = ((Number(roi.rotation) || 0) * Math.PI) / 180;
  const cx = roi.x + roi.w / 2;
  const cy = roi.y + roi.h / 2;
  const hw = (Math.abs(Math.cos(rot)) * roi.w + Math.abs(Math.sin(rot)) * roi.h) / 2;
  const hh = (Math.abs(Math.sin(rot)) * roi.w + Math.abs(Math.cos(rot)) * roi.h) / 2;
  return cx - hw >= 0 && cy - hh >= 0 && cx + hw <= w && cy + hh <= h;
}

async function coverageView(main, state, product = '') {
  header(main, 'Camera coverage', 'Each camera\'s sensor with the ROI of every spot it sees. An ROI in red reaches past the sensor.');
  const pick = el('select', { id: 'pw-coverage-product' }, el('option', { value: '', text: 'all products' }), ...arr(state.value.products).map((p) => el('option', { value: p.id, text: `product ${p.id}` })));
  pick.value = product;
  pick.addEventListener('change', () => {
    coverageView(main, state, pick.value).catch((err) => main.append(el('p', { class: 'pw-bad', text: err.message })));
  });
  main.append(el('div', { class: 'pw-row' }, el('label', { for: 'pw-coverage-product', text: 'Show' }), pick));
  const all = coverage(state.value);
  const seen = new Map([...all].map(([cam, rois]) => [cam, rois.filter((r) => !product || r.product === product)]));
  const grid = el('div', { class: 'pw-coverage', id: 'pw-coverage' });
  for (const { station } of stationsOf(state.value)) {
    for (const cam of arr(station.devices && station.devices.cameras)) {
      const w = Number(cam.sensor && cam.sensor.width) || 1;
      const h = Number(cam.sensor && cam.sensor.height) || 1;
      const rois = seen.get(cam.id) || [];
      const pic = svg('svg', { viewBox: `0 0 ${w} ${h}`, class: 'pw-sensor', role: 'img', 'aria-label': `sensor of ${cam.id}` }, svg('rect', { x: 0, y: 0, width: w, height: h, class: 'pw-sensor-area' }));
      let outside = 0;
      for (const r of rois) {
        const ok = inside(r.roi, w, h);
        if (!ok) outside += 1;
        const cx = r.roi.x + r.roi.w / 2;
        const cy = r.roi.y + r.roi.h / 2;
        const g = svg('g', { transform: `rotate(${Number(r.roi.rotation) || 0} ${cx} ${cy})`, class: ok ? 'pw-roi' : 'pw-roi pw-outside', 'data-spot': r.spot, 'data-product': r.product });
        g.append(svg('rect', { x: r.roi.x, y: r.roi.y, width: r.roi.w, height: r.roi.h }), svg('title', {}, document.createTextNode(`${r.product}/${r.spot}: x ${r.roi.x} y ${r.roi.y} w ${r.roi.w} h ${r.roi.h}${r.roi.rotation ? ` rotated ${r.roi.rotation}°` : ''}`)));
        // the spot's id above its ROI, so that close ROIs stay readable
        const t = svg('text', { x: r.roi.x, y: r.roi.y - Math.round(h / 120), 'font-size': Math.max(12, Math.round(h / 45)), 'text-anchor': 'start' });
        t.textContent = r.spot;
        g.append(t);
        pic.append(g);
      }
      const spots = [...new Set(rois.map((r) => r.spot))];
      grid.append(
        el(
          'figure',
          { class: 'pw-camera', 'data-camera': cam.id },
          pic,
          el('figcaption', {}, el('strong', { text: `${cam.id}` }), ` at ${station.id}, ${w}×${h}: ${spots.length ? `${spots.length} spot${spots.length === 1 ? '' : 's'} (${spots.join(', ')})` : 'sees no spot'}`, outside ? el('span', { class: 'pw-bad', text: ` · ${outside} ROI${outside === 1 ? '' : 's'} past the sensor` }) : null),
        ),
      );
    }
  }
  const known = new Set(stationsOf(state.value).flatMap(({ station }) => arr(station.devices && station.devices.cameras).map((c) => c.id)));
  const orphans = [...all.keys()].filter((c) => !known.has(c));
  if (orphans.length) main.append(el('p', { class: 'pw-bad', id: 'pw-orphans', text: `ROIs for cameras the plant does not have: ${orphans.join(', ')}` }));
  main.append(grid);
}

async function metricsView(main, state) {
  header(main, 'Metrics', 'Per station: parts, yield and the spots with the most NOK, from the results the stations stored in the plant database (the saved file\'s network.services.database).');
  const out = el('div', { id: 'pw-metrics' });
  main.append(out);
  if (!state.sha) {
    out.append(el('p', { class: 'pw-empty', text: 'Save the plant first: the metrics come from the saved file\'s database.' }));
    return;
  }
  const hours = el('select', { id: 'pw-hours' }, ...[1, 8, 24, 168, 720].map((h) => el('option', { value: h, text: h < 48 ? `last ${h} h` : `last ${h / 24} days` })));
  hours.value = '24';
  const refresh = el('button', { type: 'button', class: 'pw-btn', id: 'pw-metrics-refresh', text: 'Refresh' });
  const body = el('div', { class: 'pw-metrics-body' });
  out.append(el('div', { class: 'pw-row' }, hours, refresh), body);
  const load = async () => {
    body.textContent = 'loading…';
    let r;
    try {
      r = await call('GET', `metrics/${encodeURIComponent(state.name)}?hours=${hours.value}`);
    } catch (err) {
      body.textContent = '';
      body.append(el('p', { class: 'pw-bad', text: `No metrics: ${err.message}` }));
      return;
    }
    body.textContent = '';
    if (!r.configured) {
      body.append(el('p', { class: 'pw-empty', text: `No plant database: ${r.reason}` }));
      return;
    }
    const table = el('table', { class: 'pw-table' }, el('thead', {}, el('tr', {}, ...['Line / area', 'Station', 'Parts', 'OK', 'NOK', 'Yield', 'NOK per spot', 'Last result'].map((h) => el('th', { text: h })))));
    const tb = el('tbody');
    for (const s of r.stations) {
      const nok = s.spots.filter((x) => x.nok + x.missing > 0);
      tb.append(
        el(
          'tr',
          { 'data-station': s.station },
          el('td', { text: `${s.line} / ${s.area}` }),
          el('td', { text: s.station }),
          el('td', { class: 'pw-num', text: String(s.parts) }),
          el('td', { class: 'pw-num', text: String(s.ok) }),
          el('td', { class: 'pw-num', text: String(s.nok) }),
          el('td', { class: 'pw-num pw-yield', text: s.yield === null ? '–' : `${s.yield.toFixed(1)} %` }),
          el('td', { class: 'pw-spots', text: nok.length ? nok.map((x) => `${x.spot}: ${x.nok} NOK${x.missing ? `, ${x.missing} missing` : ''} of ${x.total}`).join('\n') : s.parts ? 'none' : '' }),
          el('td', { text: s.last ? new Date(s.last).toLocaleString() : 'no results' }),
        ),
      );
    }
    table.append(tb);
    body.append(table);
  };
  refresh.addEventListener('click', () => {
    load().catch((err) => (body.textContent = err.message));
  });
  hours.addEventListener('change', () => refresh.click());
  await load();
}

export const VIEWS = [
  { id: 'flow', title: 'Production flow', render: flowView },
  { id: 'network', title: 'PLC network', render: networkView },
  { id: 'coverage', title: 'Camera coverage', render: coverageView },
  { id: 'metrics', title: 'Metrics', render: metricsView },
];
