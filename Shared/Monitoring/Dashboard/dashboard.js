// The live dashboard of one run. It reads nothing but the server-sent events of api/events (docs/monitoring.md):
// the first `state` event holds the whole run and every later one replaces it (after a reconnect too, which
// EventSource does by itself); `step`, `valid`, `members`, `event`, `checkpoint`, `sample` and `split` change
// it. Events only update the model below and mark what changed; the page is redrawn at most once per
// animation frame, so a fast run costs one redraw per frame, not one per step.
'use strict';

(() => {
  /** Points kept per series, as the server keeps them: past this, every second point goes (the newest stays). */
  const CAPACITY = 20000;
  /** Events kept, as the server keeps them (the oldest go first); all of them are chart markers. */
  const EVENTS_KEPT = 2000;
  /** Events listed (the newest first). */
  const EVENTS_SHOWN = 50;
  /** Checkpoints listed (the newest first). */
  const CHECKPOINTS_SHOWN = 10;
  /** Steps over which the ETA's step rate is measured. */
  const RATE_WINDOW = 50;

  const $ = id => document.getElementById(id);
  const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });

  const model = {
    run: null,
    state: '',
    step: 0,
    epoch: 0,
    generation: 0,
    lastStepUnix: null,
    lastError: null,
    train: columns('loss', 'lr', 'gradNorm', 'tokensPerSecond'),
    valid: columns('loss'),
    members: [],
    events: [],
    checkpoints: [],
    split: null,
    sample: null,
  };

  function columns(...names) {
    const c = { step: [], unix: [] };
    for (const n of names) c[n] = [];
    return c;
  }

  // ---- Applying the server's events ------------------------------------------------------------------------

  function applyState(s) {
    model.run = s.run;
    model.state = s.state;
    model.step = s.step;
    model.epoch = s.epoch;
    model.generation = s.generation;
    model.lastError = s.lastError;
    model.train = s.train;
    model.valid = s.valid;
    model.lastStepUnix = s.train.unix.length ? s.train.unix[s.train.unix.length - 1] : null;
    model.members = s.members;
    model.events = s.events;
    model.split = s.split;
    model.sample = s.sample === null ? null : { step: null, text: s.sample };
    // The snapshot lists checkpoints as events ("checkpoint step N (best): DIR"); the newest is lastCheckpoint.
    model.checkpoints = s.events
      .filter(e => e.kind === 'checkpoint')
      .map(e => ({ step: e.step, unix: e.unix, path: e.text.replace(/^[^:]*:\s*/, ''), best: /\(best\)/.test(e.text) }));
    if (s.lastCheckpoint) addCheckpoint(s.lastCheckpoint);
    touch('run', 'headline', 'charts', 'members', 'events', 'checkpoints', 'sample', 'split');
  }

  function applyStep(p) {
    append(model.train, p.step, p.unix, { loss: p.loss, lr: p.lr, gradNorm: p.gradNorm, tokensPerSecond: p.tokensPerSecond });
    model.step = p.step;
    model.epoch = p.epoch;
    model.lastStepUnix = p.unix;
    touch('headline', 'charts');
  }

  function applyValid(p) {
    append(model.valid, p.step, p.unix, { loss: p.loss });
    touch('headline', 'charts');
  }

  function applyEvent(e) {
    model.events.push(e);
    if (model.events.length > EVENTS_KEPT) model.events.splice(0, model.events.length - EVENTS_KEPT);
    // The event's text is "generation N: why" (RunMonitor.GenerationStarted); the snapshot carries the number.
    const generation = e.kind === 'generation' && /^generation (\d+)/.exec(e.text);
    if (generation) model.generation = Number(generation[1]);
    touch('events', 'headline', 'charts');
  }

  function addCheckpoint(c) {
    const i = model.checkpoints.findIndex(k => k.step === c.step);
    if (i >= 0) model.checkpoints[i] = c;
    else model.checkpoints.push(c);
    model.checkpoints.sort((a, b) => a.step - b.step);
  }

  /**
   * Appends a point. A step at or before the last one (a step computed again after a failure) replaces the
   * points from it on, so the step axis stays sorted as uPlot needs.
   */
  function append(cols, step, unix, values) {
    let n = cols.step.length;
    while (n > 0 && cols.step[n - 1] >= step) n--;
    if (n < cols.step.length) {
      for (const k of Object.keys(cols)) cols[k].length = n;
    }
    cols.step.push(step);
    cols.unix.push(unix);
    for (const [k, v] of Object.entries(values)) cols[k].push(v);
    if (cols.step.length > CAPACITY) halve(cols);
  }

  function halve(cols) {
    const last = cols.step.length - 1;
    for (const k of Object.keys(cols)) {
      const a = cols[k];
      let w = 0;
      for (let i = 0; i < last; i += 2) a[w++] = a[i];
      a[w++] = a[last];
      a.length = w;
    }
  }

  // ---- The stream ------------------------------------------------------------------------------------------

  function connect() {
    const source = new EventSource('api/events');
    const on = (name, apply) => source.addEventListener(name, m => apply(JSON.parse(m.data)));
    on('state', applyState);
    on('step', applyStep);
    on('valid', applyValid);
    on('members', m => { model.members = m; touch('members'); });
    on('event', applyEvent);
    on('checkpoint', c => { addCheckpoint(c); touch('checkpoints', 'headline'); });
    on('sample', s => { model.sample = s; touch('sample'); });
    on('split', s => { model.split = s; touch('split'); });
    source.onopen = () => setConnection('open', 'live');
    source.onerror = () => setConnection(
      source.readyState === EventSource.CLOSED ? 'closed' : 'connecting',
      source.readyState === EventSource.CLOSED ? 'disconnected (reload to retry)' : 'reconnecting…');
  }

  function setConnection(status, text) {
    const el = $('connection');
    el.dataset.status = status;
    el.textContent = text;
  }

  // ---- Drawing, batched per animation frame ----------------------------------------------------------------

  const dirty = new Set();
  let frame = 0;

  function touch(...parts) {
    for (const p of parts) dirty.add(p);
    if (!frame) frame = requestAnimationFrame(render);
  }

  function render() {
    frame = 0;
    const parts = new Set(dirty);
    dirty.clear();
    if (parts.has('run')) renderRun();
    if (parts.has('charts')) renderCharts();
    if (parts.has('headline') || parts.has('clock')) renderHeadline();
    if (parts.has('members')) renderMembers();
    if (parts.has('events')) renderEvents();
    if (parts.has('checkpoints') || parts.has('clock')) renderCheckpoints();
    if (parts.has('sample')) renderSample();
    if (parts.has('split')) renderSplit();
  }

  function renderRun() {
    const r = model.run;
    if (!r) return;
    $('run-directory').textContent = r.runDirectory;
    const badge = $('run-state');
    badge.textContent = model.state;
    badge.dataset.state = model.state;
    $('run-mode').textContent = `mode: ${r.mode}`;
    $('run-task').textContent = `task: ${r.task}`;
    $('run-parameters').textContent = r.parameters ? `${compact.format(r.parameters)} parameters` : '';
    const error = $('last-error');
    error.hidden = !model.lastError;
    error.textContent = model.lastError ? `last error: ${model.lastError}` : '';
  }

  function renderHeadline() {
    const t = model.train;
    const n = t.step.length;
    const stepEl = $('h-step');
    const total = model.run && model.run.totalSteps > 0 ? model.run.totalSteps : 0;
    setFigure(stepEl, number.format(model.step), total ? `of ${number.format(total)}` : '');
    // Written only when they change: a test reads the moment data-unix changes as the update's arrival.
    const unix = model.lastStepUnix === null ? '' : String(model.lastStepUnix);
    if (stepEl.dataset.unix !== unix) stepEl.dataset.unix = unix;
    if (stepEl.dataset.step !== String(model.step)) stepEl.dataset.step = String(model.step);
    $('h-epoch').textContent = model.epoch ? String(model.epoch) : '—';
    $('h-generation').textContent = String(model.generation);
    $('h-loss').textContent = n ? fixed(t.loss[n - 1], 4) : '—';
    const v = model.valid;
    $('h-valid').textContent = v.step.length ? fixed(v.loss[v.step.length - 1], 4) : '—';
    $('h-speed').textContent = n && t.tokensPerSecond[n - 1] !== null ? number.format(t.tokensPerSecond[n - 1]) : '—';
    $('h-eta').textContent = eta(total);
    const last = model.checkpoints[model.checkpoints.length - 1];
    setFigure($('h-checkpoint'), last ? age(last.unix) : '—', last ? `step ${number.format(last.step)}` : '');
    document.title = n ? `step ${number.format(model.step)} · loss ${fixed(t.loss[n - 1], 3)} — RnnCluster` : 'RnnCluster run';
  }

  /** A headline figure and, smaller, what qualifies it. */
  function setFigure(el, main, detail) {
    if (!detail) {
      el.textContent = main;
      return;
    }
    const small = document.createElement('small');
    small.textContent = detail;
    el.replaceChildren(main, ' ', small);
  }

  function eta(total) {
    if (model.state === 'finished') return 'done';
    const t = model.train;
    const n = t.step.length;
    if (!total || n < 2 || model.state !== 'training') return '—';
    const k = Math.max(0, n - RATE_WINDOW);
    const rate = (t.step[n - 1] - t.step[k]) / (t.unix[n - 1] - t.unix[k]);
    if (!(rate > 0)) return '—';
    return duration(Math.max(0, total - model.step) / rate);
  }

  function renderMembers() {
    const body = $('members').tBodies[0];
    const rows = model.members.map(m => {
      const tr = document.createElement('tr');
      tr.dataset.state = m.state;
      tr.dataset.role = m.role;
      tr.dataset.address = m.address;
      tr.dataset.index = String(m.index);
      const state = document.createElement('span');
      state.className = 'state';
      state.dataset.state = m.state;
      state.textContent = m.state;
      tr.append(
        cell(m.role),
        cell(m.address),
        cell(state, 'state-cell'),
        cell(String(m.incarnation), 'num'),
        cell(m.stepMs === null ? '—' : `${fixed(m.stepMs, 1)} ms`, 'num'),
        cell(m.streamShare === null ? '—' : `${fixed(100 * m.streamShare, 1)} %`, 'num'));
      return tr;
    });
    body.replaceChildren(...rows);
    $('members-empty').hidden = rows.length > 0;
  }

  function renderEvents() {
    const shown = model.events.slice(-EVENTS_SHOWN).reverse();
    const items = shown.map(e => {
      const li = document.createElement('li');
      li.dataset.kind = e.kind;
      li.dataset.step = String(e.step);
      const when = document.createElement('time');
      when.className = 'when';
      if (e.unix !== null) {
        const d = new Date(e.unix * 1000);
        when.dateTime = d.toISOString();
        when.textContent = `${d.toLocaleTimeString('en-GB')} · step ${number.format(e.step)}`;
      }
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = e.kind;
      li.append(when, kind, document.createTextNode(e.text));
      return li;
    });
    $('events').replaceChildren(...items);
    $('events-empty').hidden = items.length > 0;
  }

  function renderCheckpoints() {
    const rows = model.checkpoints.slice(-CHECKPOINTS_SHOWN).reverse().map(c => {
      const tr = document.createElement('tr');
      tr.dataset.step = String(c.step);
      tr.append(cell(number.format(c.step) + (c.best ? ' ★' : ''), 'num'), cell(age(c.unix)), cell(c.path, 'path'));
      return tr;
    });
    $('checkpoints').tBodies[0].replaceChildren(...rows);
    $('checkpoints-empty').hidden = rows.length > 0;
    const older = model.checkpoints.length - rows.length;
    $('checkpoints-older').hidden = older <= 0;
    $('checkpoints-older').textContent = `and ${number.format(older)} older`;
  }

  function renderSample() {
    const el = $('sample');
    if (!model.sample) return;
    el.textContent = model.sample.text;
    el.dataset.step = model.sample.step === null ? '' : String(model.sample.step);
    $('sample-step').textContent = model.sample.step === null ? '' : `(step ${number.format(model.sample.step)})`;
  }

  function renderSplit() {
    const el = $('split');
    const s = model.split;
    if (!s) return;
    const parts = [['compute', s.computeMs], ['communication', s.communicationMs], ['apply', s.applyMs]];
    const total = parts.reduce((a, [, ms]) => a + (ms || 0), 0);
    el.dataset.empty = 'false';
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', parts.map(([name, ms]) => `${name} ${fixed(ms, 1)} ms`).join(', '));
    el.replaceChildren(...parts.map(([name, ms]) => {
      const span = document.createElement('span');
      span.className = name;
      span.style.flexGrow = String(total > 0 ? (ms || 0) / total : 1);
      span.textContent = `${name} ${fixed(ms, 1)} ms`;
      span.title = span.textContent;
      return span;
    }));
  }

  function cell(content, className) {
    const td = document.createElement('td');
    if (className) td.className = className;
    td.append(content);
    return td;
  }

  function fixed(x, digits) {
    return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
  }

  function age(unix) {
    return unix === null ? '—' : `${duration(Math.max(0, Date.now() / 1000 - unix))} ago`;
  }

  function duration(seconds) {
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  // ---- Charts (uPlot) --------------------------------------------------------------------------------------

  const charts = {};

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  /** Vertical lines at the steps where a generation began (blue) or a failure happened (red). */
  function markers() {
    return {
      hooks: {
        draw: [u => {
          const { left, top, width, height } = u.bbox;
          const ctx = u.ctx;
          ctx.save();
          ctx.beginPath();
          ctx.rect(left, top, width, height);
          ctx.clip();
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          for (const e of model.events) {
            if (e.kind !== 'generation' && e.kind !== 'failure') continue;
            const x = Math.round(u.valToPos(e.step, 'x', true));
            if (x < left || x > left + width) continue;
            ctx.strokeStyle = css(e.kind === 'failure' ? '--failure' : '--generation');
            ctx.setLineDash(e.kind === 'failure' ? [] : [6, 4]);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
  }

  function makeChart(id, height, series, yScale, yFormat) {
    const el = $(id);
    const fg = css('--fg');
    const grid = css('--grid');
    const axis = { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } };
    const chart = {
      el,
      zoomed: false,
      plot: new uPlot({
        width: Math.max(200, el.clientWidth),
        height,
        cursor: { sync: { key: 'rnncluster' }, drag: { x: true, y: false } },
        scales: { x: { time: false }, y: yScale },
        series: [{ label: 'step', value: (u, v) => (v === null ? '—' : number.format(v)) }, ...series],
        axes: [{ ...axis, label: 'step' }, { ...axis, size: 60, values: (u, vals) => vals.map(yFormat) }],
        plugins: [markers()],
        hooks: {
          // Zoomed in when the x range is narrower than the data's: live data then keeps the user's window.
          setScale: [(u, key) => {
            if (key !== 'x') return;
            const xs = u.data[0];
            chart.zoomed = xs.length > 1 && (u.scales.x.min > xs[0] || u.scales.x.max < xs[xs.length - 1]);
            el.dataset.zoomed = String(chart.zoomed);
            el.dataset.xMin = String(u.scales.x.min);
            el.dataset.xMax = String(u.scales.x.max);
          }],
        },
      }, [[], ...series.map(() => [])], el),
    };
    return chart;
  }

  /** An axis label: up to 4 significant digits, no trailing zeros. */
  function tick(v) {
    return v === null ? '' : String(Number(v.toPrecision(4)));
  }

  function buildCharts() {
    for (const c of Object.values(charts)) c.plot.destroy();
    const log = $('log-scale').checked;
    $('chart-loss').dataset.scale = log ? 'log' : 'linear';
    const line = (label, color, extra) => ({ label, stroke: css(color), width: 1.5, spanGaps: true, points: { show: false }, ...extra });
    charts.loss = makeChart('chart-loss', 300, [
      line('train loss', '--train', { value: (u, v) => fixed(v, 4) }),
      line('valid loss', '--valid', { width: 2, value: (u, v) => fixed(v, 4), points: { show: true, size: 5 } }),
    ], log ? { distr: 3 } : { auto: true }, tick);
    charts.speed = makeChart('chart-speed', 200, [line('tokens/s', '--speed', { value: (u, v) => (v === null ? '—' : number.format(v)) })], { auto: true }, v => compact.format(v));
    charts.lr = makeChart('chart-lr', 200, [line('learning rate', '--lr', { value: (u, v) => (v === null ? '—' : v.toPrecision(3)) })], { auto: true }, tick);
    renderCharts();
  }

  function renderCharts() {
    if (!charts.loss) return;
    const t = model.train;
    // uPlot keeps the arrays it is given: copies, so the next events' pushes do not change a drawn frame.
    setData(charts.loss, lossData());
    setData(charts.speed, [t.step.slice(), t.tokensPerSecond.slice()]);
    setData(charts.lr, [t.step.slice(), t.lr.slice()]);
    charts.loss.el.dataset.points = String(t.step.length);
    charts.loss.el.dataset.validPoints = String(model.valid.step.length);
    charts.speed.el.dataset.points = String(t.step.length);
    charts.lr.el.dataset.points = String(t.step.length);
  }

  function setData(chart, data) {
    if (!chart.zoomed) {
      chart.plot.setData(data);
      return;
    }
    // Keep the user's x window: new data without rescaling x, then the paths and y range within the window.
    chart.plot.setData(data, false);
    chart.plot.redraw();
  }

  /** Train and valid loss on one step axis: the union of their steps, null where a series has no point. */
  function lossData() {
    const t = model.train;
    const v = model.valid;
    const x = [];
    const a = [];
    const b = [];
    let i = 0;
    let j = 0;
    while (i < t.step.length || j < v.step.length) {
      const ts = i < t.step.length ? t.step[i] : Infinity;
      const vs = j < v.step.length ? v.step[j] : Infinity;
      x.push(Math.min(ts, vs));
      a.push(ts <= vs ? t.loss[i++] : null);
      b.push(vs <= ts ? v.loss[j++] : null);
    }
    return [x, a, b];
  }

  /** One observer for the chart containers (they outlive the charts a log-scale switch rebuilds). */
  function watchSizes() {
    const observer = new ResizeObserver(entries => {
      for (const entry of entries) {
        const chart = Object.values(charts).find(c => c.el === entry.target);
        const width = Math.max(200, Math.floor(entry.contentRect.width));
        if (chart && width !== chart.plot.width) chart.plot.setSize({ width, height: chart.plot.height });
      }
    });
    for (const c of Object.values(charts)) observer.observe(c.el);
  }

  // ---- Start ----------------------------------------------------------------------------------------------

  buildCharts();
  watchSizes();
  $('log-scale').addEventListener('change', buildCharts);
  // Chart colours come from the page's palette: a switch between light and dark draws them again.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', buildCharts);
  // Ages and the ETA move with the clock, not only with events.
  setInterval(() => touch('clock'), 1000);
  connect();
})();
