// The dashboard page: plain DOM, no framework. Every text from the host goes in with textContent, never as markup.
const state = {
  session: undefined,
  apps: [],
  peers: [],
  runs: new Map(),
  view: '',
  logs: undefined,
  samples: new Map(),
};

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c);
  return el;
}

const badge = (text) => h('span', { class: `badge ${text}` }, text);
const ago = (iso) => {
  if (!iso) return '';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
};
const key = (a) => `${a.environment}/${a.app}`;
const short = (sha) => (sha ? sha.slice(0, 8) : '');

async function api(path, body) {
  const init = body
    ? {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': state.session.csrf },
        body: JSON.stringify(body),
      }
    : {};
  const r = await fetch(path, init);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error ?? `${r.status}`);
  return data;
}

/** What the last action did, above whatever view is drawn (a view drawn again keeps it). */
function notice(text, ok) {
  const el = document.getElementById('notice');
  el.hidden = false;
  el.className = ok === undefined ? 'waiting' : ok ? 'ok' : 'bad';
  el.textContent = text;
}

/** Ask before doing anything; resolves to the reason typed, or undefined when cancelled. */
function confirmAction(text, withReason) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-reason-label').hidden = !withReason;
  document.getElementById('confirm-reason').value = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => resolve(dialog.returnValue === 'ok' ? document.getElementById('confirm-reason').value : undefined),
      { once: true },
    );
  });
}

async function act(app, action, release, text) {
  const reason = await confirmAction(text, ['reject', 'mark-bad'].includes(action));
  if (reason === undefined) return;
  notice(`${action}…`);
  try {
    const r = await api('/api/action', {
      app: app.app,
      environment: app.environment,
      action,
      ...(release ? { release } : {}),
      ...(reason ? { reason } : {}),
    });
    notice(r.done, true);
  } catch (e) {
    notice(`${action} failed: ${e.message}`, false);
  }
}

function lockLine(a) {
  if (!a.lock) return undefined;
  const l = a.lock;
  return h(
    'div',
    { class: 'reason' },
    `locked by ${l.user ?? '?'}@${l.machine ?? '?'}: ${l.command ?? ''} ${ago(l.time)}`,
  );
}

function runsOf(a, ended = false) {
  return [...state.runs.values()]
    .filter((r) => r.app === a.app && (ended || !r.ended))
    .sort((x, y) => (y.started ?? '').localeCompare(x.started ?? ''));
}

function phaseList(run) {
  const steps = new Map();
  for (const e of run.events) if (e.type === 'phase') steps.set(e.title, e);
  return h(
    'ul',
    { class: 'phases' },
    [...steps.values()].map((e) =>
      h(
        'li',
        { class: e.state === 'failed' ? 'failed' : e.state === 'done' ? 'ok' : 'waiting' },
        `${e.state === 'done' ? '✓' : e.state === 'failed' ? '✗' : '…'} ${e.title}`,
        e.ms !== undefined ? h('span', { class: 'muted' }, ` ${e.ms} ms`) : '',
        e.note ? h('span', { class: 'muted' }, ` ${e.note}`) : '',
      ),
    ),
  );
}

/** How a run ended, from its own events: the history record it wrote, or what it announced. */
function outcome(run) {
  const told = run.events.filter((e) => e.type === 'record' || e.type === 'lifecycle').at(-1);
  const said = told?.type === 'record' ? told.record.event : told?.event;
  return said && said !== 'started' ? said : run.ended ? 'ended' : 'running';
}

function runBox(run) {
  return h(
    'div',
    { class: 'run', 'data-run': run.token },
    h(
      'div',
      {},
      run.queued ? badge('queued') : badge(outcome(run)),
      run.queued ? `#${run.queued} in the queue: ` : '',
      h('code', {}, run.command ?? ''),
      h('span', { class: 'muted' }, ` by ${run.user ?? '?'} ${ago(run.started)}`),
    ),
    phaseList(run),
  );
}

const liveOf = (a) => a.releases.find((r) => r.id === a.serving);

/** The release an app serves: its id and git sha. */
function served(a) {
  const live = liveOf(a);
  return [
    a.serving ? h('code', {}, a.serving) : 'nothing served',
    live?.sha ? h('span', { class: 'mono muted' }, ` ${short(live.sha)}`) : '',
  ];
}

const reasons = (a) => [...a.syncReasons, ...a.healthReasons].map((r) => h('div', { class: 'reason' }, r));

function appCard(a) {
  const live = liveOf(a);
  return h(
    'div',
    { class: 'card', 'data-app': key(a) },
    h('h3', {}, h('a', { href: `#/app/${a.environment}/${a.app}` }, `${a.app} · ${a.environment}`)),
    h('div', { class: 'muted' }, `${a.host} · ${a.runtime}`),
    h('div', {}, badge(a.sync), badge(a.health), a.maintenance ? badge('maintenance') : ''),
    h('div', { class: 'serving' }, served(a), live?.subject ? h('div', { class: 'muted' }, live.subject) : ''),
    reasons(a),
    lockLine(a),
    a.lastHeal ? h('div', { class: 'reason' }, `last heal ${ago(a.lastHeal.at)}: ${a.lastHeal.did.join('; ')}`) : '',
    a.degraded ? h('div', { class: 'reason bad' }, `cannot heal: ${a.degraded.why} → ${a.degraded.fix}`) : '',
    a.pull
      ? h(
          'div',
          { class: 'reason' },
          `pull${a.pull.paused ? ' (paused)' : ''}: ${a.pull.offered ?? '—'}, ${a.pull.next ?? ''}`,
        )
      : '',
    a.approvals.map((p) => h('div', { class: 'waiting' }, `waiting for approval: ${p.release}`)),
    runsOf(a).map(runBox),
    h('div', { class: 'muted' }, `observed ${ago(a.observedAt)}`),
  );
}

/** One host's cell of the grid across hosts: what it serves, sync and health, its lock and last heal. */
function hostCell(a, error) {
  if (error) return h('td', { class: 'reason bad' }, error);
  if (!a) return h('td', { class: 'muted' }, '—');
  return h(
    'td',
    { 'data-cell': `${key(a)}@${a.host}` },
    served(a),
    h('div', {}, badge(a.sync), badge(a.health)),
    reasons(a),
    lockLine(a),
    a.lastHeal ? h('div', { class: 'reason' }, `last heal ${ago(a.lastHeal.at)}`) : '',
  );
}

/** Environments × hosts: this host's apps and those `slipway dashboard` relays from the others. */
function hostsGrid() {
  const hosts = [
    { host: state.session.host, apps: state.apps, here: true },
    ...state.peers.map((p) => ({ host: p.host, apps: p.apps ?? [], error: p.error, seenAt: p.seenAt })),
  ];
  const rows = [...new Set(hosts.flatMap((x) => x.apps.map(key)))].sort();
  return h(
    'div',
    { class: 'table' },
    h(
      'table',
      { id: 'hosts' },
      h(
        'tr',
        {},
        h('th', {}, 'environment / app'),
        hosts.map((x) =>
          h('th', {}, x.host, h('div', { class: 'muted' }, x.here ? 'this host' : `relayed ${ago(x.seenAt)}`)),
        ),
      ),
      rows.map((r) =>
        h(
          'tr',
          {},
          h('th', {}, r),
          hosts.map((x) =>
            hostCell(
              x.apps.find((a) => key(a) === r),
              x.error,
            ),
          ),
        ),
      ),
    ),
  );
}

function viewApps(main) {
  main.replaceChildren(
    h('h1', {}, `Apps on ${state.session.host}`),
    state.peers.length ? hostsGrid() : '',
    state.apps.length
      ? h('div', { class: 'grid' }, state.apps.map(appCard))
      : h('p', { class: 'muted' }, 'No app is set up on this host yet.'),
  );
}

function historyTable(records, withApp) {
  return h(
    'div',
    { class: 'table' },
    h(
      'table',
      { class: 'history' },
      h(
        'tr',
        {},
        ['When', withApp ? 'App' : undefined, 'Event', 'Release', 'Who', 'Took', 'Why']
          .filter(Boolean)
          .map((t) => h('th', {}, t)),
      ),
      records.map((r) =>
        h(
          'tr',
          { 'data-event': r.event },
          h('td', { title: r.time }, ago(r.time)),
          withApp ? h('td', {}, `${r.app} · ${r.environment}`) : undefined,
          h('td', {}, badge(r.event)),
          h(
            'td',
            {},
            r.release
              ? h('a', { href: `#/release/${r.environment}/${r.app}/${r.release}` }, h('code', {}, r.release))
              : '',
            r.sha ? h('span', { class: 'mono muted' }, ` ${short(r.sha)}`) : '',
            r.subject ? h('div', { class: 'muted' }, r.subject) : '',
          ),
          h('td', {}, r.by ?? `${r.user}@${r.machine}`),
          h('td', {}, r.duration_ms !== undefined ? `${(r.duration_ms / 1000).toFixed(1)} s` : ''),
          h(
            'td',
            { class: 'reason' },
            [r.reason, ...(r.guardrails ?? []), ...(r.forced ?? []).map((f) => `forced: ${f}`), ...(r.did ?? [])]
              .filter(Boolean)
              .join('; '),
          ),
        ),
      ),
    ),
  );
}

async function viewHistory(main, params) {
  const env = params.get('environment') ?? '';
  const result = params.get('event') ?? '';
  const lists = await Promise.all(
    state.apps.map((a) =>
      api(`/api/history?app=${encodeURIComponent(a.app)}&environment=${encodeURIComponent(a.environment)}`),
    ),
  );
  const all = lists
    .flat()
    .filter((r) => (!env || r.environment === env) && (!result || r.event === result))
    .sort((a, b) => b.time.localeCompare(a.time));
  const envs = [...new Set(state.apps.map((a) => a.environment))];
  const events = [
    'deployed',
    'failed',
    'rolled_back',
    'healed',
    'promoted',
    'approved',
    'rejected',
    'marked_bad',
    'halted',
  ];
  const select = (name, options, value) =>
    h(
      'select',
      {
        name,
        onchange: (e) => {
          params.set(name, e.target.value);
          location.hash = `#/history?${params}`;
        },
      },
      h('option', { value: '' }, `every ${name}`),
      options.map((o) => h('option', { value: o, selected: o === value }, o)),
    );
  main.replaceChildren(
    h('h1', {}, 'History'),
    h('div', { class: 'filters' }, select('environment', envs, env), select('event', events, result)),
    all.length ? historyTable(all, true) : h('p', { class: 'muted' }, 'Nothing recorded yet.'),
  );
}

function chart(samples, value, label, unit) {
  const points = samples.filter((s) => value(s) !== undefined);
  const w = 600;
  const hgt = 90;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const max = Math.max(1, ...points.map(value));
  if (points.length) {
    const t0 = points[0].t;
    const span = Math.max(1, points[points.length - 1].t - t0);
    const line = document.createElementNS(svg.namespaceURI, 'polyline');
    line.setAttribute(
      'points',
      points
        .map((s) => `${(((s.t - t0) / span) * w).toFixed(1)},${(hgt - 4 - (value(s) / max) * (hgt - 8)).toFixed(1)}`)
        .join(' '),
    );
    svg.append(line);
    for (const s of points.filter((p) => p.ok === false)) {
      const dot = document.createElementNS(svg.namespaceURI, 'circle');
      dot.setAttribute('cx', (((s.t - t0) / span) * w).toFixed(1));
      dot.setAttribute('cy', String(hgt - 4));
      dot.setAttribute('r', '3');
      svg.append(dot);
    }
  }
  const last = points.length ? value(points[points.length - 1]) : undefined;
  return h(
    'div',
    { class: 'chart-box' },
    h(
      'div',
      { class: 'muted' },
      `${label}: ${last === undefined ? 'no samples yet' : `${last} ${unit} now`}, max ${max} ${unit}`,
    ),
    svg,
  );
}

function releasesTable(a) {
  return h(
    'div',
    { class: 'table' },
    h(
      'table',
      { class: 'releases' },
      h(
        'tr',
        {},
        ['Release', 'Status', 'Commit', '', ''].map((t) => h('th', {}, t)),
      ),
      [...a.releases].reverse().map((r) =>
        h(
          'tr',
          { 'data-release': r.id },
          h('td', {}, h('a', { href: `#/release/${a.environment}/${a.app}/${r.id}` }, h('code', {}, r.id))),
          h('td', {}, r.id === a.serving ? badge('serving') : '', badge(r.status)),
          h('td', {}, h('span', { class: 'mono' }, short(r.sha)), ' ', r.subject ?? ''),
          h(
            'td',
            {},
            r.id !== a.serving && r.status === 'ok' && admin()
              ? h(
                  'button',
                  {
                    class: 'rollback',
                    onclick: () => act(a, 'rollback', r.id, `Roll ${a.app} (${a.environment}) back to ${r.id}?`),
                  },
                  'Roll back to this',
                )
              : '',
          ),
          h(
            'td',
            {},
            r.status !== 'bad' && admin()
              ? h(
                  'button',
                  {
                    class: 'danger mark-bad',
                    onclick: () =>
                      act(a, 'mark-bad', r.id, `Mark ${r.id} bad? Rollbacks skip it and promotion refuses it.`),
                  },
                  'Mark bad',
                )
              : '',
          ),
        ),
      ),
    ),
  );
}

const admin = () => state.session.role === 'admin';

function appActions(a) {
  if (!admin()) return h('p', { class: 'muted', id: 'actions' }, 'Read-only login: actions are not offered.');
  const b = (cls, label, action, text) =>
    h('button', { class: cls, onclick: () => act(a, action, undefined, text) }, label);
  return h(
    'div',
    { class: 'actions', id: 'actions' },
    b('restart', 'Restart', 'restart', `Restart ${a.app} (${a.environment})?`),
    a.proxied
      ? a.maintenance
        ? b('maintenance-off', 'Maintenance off', 'maintenance-off', 'Serve the app again?')
        : b('maintenance-on', 'Maintenance on', 'maintenance-on', 'Answer every request with the maintenance page?')
      : '',
    a.pull
      ? a.pull.paused
        ? b('resume', 'Resume pulling', 'resume', 'Resume pull mode?')
        : b('pause', 'Pause pulling', 'pause', 'Pause pull mode? The agent still heals; it deploys nothing new.')
      : '',
  );
}

async function viewApp(main, env, name) {
  const a = state.apps.find((x) => x.app === name && x.environment === env);
  if (!a) return main.replaceChildren(h('p', {}, `No app ${name} (${env}) on this host.`));
  const [history, samples] = await Promise.all([
    api(`/api/history?app=${encodeURIComponent(name)}&environment=${encodeURIComponent(env)}`),
    api(`/api/samples?app=${encodeURIComponent(name)}&environment=${encodeURIComponent(env)}`),
  ]);
  const logs = h('pre', { class: 'logs', id: 'logs' });
  main.replaceChildren(
    appCard(a),
    appActions(a),
    approvalsBox(a),
    h('h2', {}, 'Recent runs'),
    h('div', { id: 'runs' }, recentRuns(a)),
    h('h2', {}, 'Releases'),
    releasesTable(a),
    h('h2', {}, 'Health over time'),
    chart(samples, (s) => s.ms, 'health check', 'ms'),
    chart(samples, (s) => s.cpu, 'CPU', '%'),
    chart(samples, (s) => (s.mem === undefined ? undefined : Math.round(s.mem / 1048576)), 'memory', 'MiB'),
    h('h2', {}, 'Log'),
    logs,
    h('h2', {}, 'History'),
    historyTable(history.slice(0, 50), false),
  );
  followLogs(a, logs);
}

function approvalsBox(a) {
  const button = (cls, label, action, text, release) =>
    admin() ? h('button', { class: cls, onclick: () => act(a, action, release, text) }, label) : '';
  return h(
    'div',
    { id: 'approvals' },
    a.approvals.length ? h('h2', {}, 'Waiting for approval') : '',
    a.approvals.map((p) =>
      h(
        'div',
        { class: 'actions approval', 'data-release': p.release },
        h('span', {}, `${p.release}, asked by ${p.requested_by} ${ago(p.requested_at)}`),
        button('approve', 'Approve', 'approve', `Approve the deploy of ${p.release}?`, p.release),
        button('danger reject', 'Reject', 'reject', `Reject the deploy of ${p.release}?`, p.release),
      ),
    ),
  );
}

function recentRuns(a) {
  const runs = runsOf(a, true).slice(0, 3);
  return runs.length ? runs.map(runBox) : h('p', { class: 'muted' }, 'No run since the agent started.');
}

function followLogs(a, pre) {
  state.logs?.close();
  const src = new EventSource(
    `/api/logs?app=${encodeURIComponent(a.app)}&environment=${encodeURIComponent(a.environment)}`,
  );
  src.addEventListener('line', (e) => {
    pre.append(`${JSON.parse(e.data)}\n`);
    while (pre.childNodes.length > 1000) pre.firstChild.remove();
    pre.scrollTop = pre.scrollHeight;
  });
  state.logs = src;
}

async function viewRelease(main, env, name, id) {
  const a = state.apps.find((x) => x.app === name && x.environment === env);
  const q = `app=${encodeURIComponent(name)}&environment=${encodeURIComponent(env)}`;
  const [history, config] = await Promise.all([
    api(`/api/history?${q}`),
    api(`/api/release?${q}&id=${encodeURIComponent(id)}`),
  ]);
  const r = a?.releases.find((x) => x.id === id);
  const records = history.filter((x) => x.release === id || x.previous === id);
  main.replaceChildren(
    h('h1', {}, h('code', {}, id)),
    h('p', {}, `${name} · ${env} on ${state.session.host}`),
    r
      ? h(
          'div',
          { class: 'card' },
          h('div', {}, badge(r.status), r.id === a.serving ? badge('serving') : ''),
          h('div', {}, 'commit ', h('code', {}, r.sha ?? '—'), ' ', r.subject ?? ''),
          h('div', {}, 'manifest ', h('code', { class: 'manifest' }, r.manifest ?? '—')),
          h('div', { class: 'muted' }, `made by ${r.user ?? '?'} ${ago(r.time)}`),
        )
      : h('p', { class: 'muted' }, 'This release is no longer kept on this host.'),
    h('h2', {}, config.previous ? `Config against ${config.previous}` : 'Config'),
    configDiff(config),
    h('h2', {}, 'Events'),
    historyTable(records, false),
  );
}

function configDiff(c) {
  if (!c.previous) return h('p', { class: 'muted' }, 'The first release kept: nothing to compare with.');
  if (!c.diff) return h('p', { class: 'muted' }, 'Not recorded: the agent did not see one of the two deployed.');
  if (!c.diff.some((d) => d.op !== ' ')) return h('p', { class: 'muted config-diff' }, 'The same config.');
  return h(
    'pre',
    { class: 'config-diff' },
    c.diff.map((d) =>
      h('span', { class: d.op === '+' ? 'added' : d.op === '-' ? 'removed' : '' }, `${d.op} ${d.line}\n`),
    ),
  );
}

/** Passkeys: add one for this login (same name and role), see and remove them (an admin sees everyone's). */
async function viewPasskeys(main) {
  const { passkeys, unavailable } = await api('/api/passkeys');
  const remove = async (k) => {
    if ((await confirmAction(`Remove the passkey of ${k.who} added ${ago(k.added)}?`, false)) === undefined) return;
    try {
      notice((await api('/api/passkeys/forget', { id: k.id })).done, true);
    } catch (e) {
      notice(`Not removed: ${e.message}`, false);
    }
    render();
  };
  const rows = passkeys.map((k) =>
    h(
      'tr',
      { 'data-passkey': k.id },
      h('td', {}, k.who),
      h('td', {}, k.role),
      h('td', {}, ago(k.added)),
      h('td', {}, h('button', { onclick: () => remove(k) }, 'Remove')),
    ),
  );
  main.replaceChildren(
    h('h2', {}, 'Passkeys'),
    h(
      'p',
      { class: 'muted' },
      "A passkey signs you in here again, with this login's name and role, without asking for a link.",
    ),
    unavailable
      ? h('p', { class: 'muted' }, unavailable)
      : h('p', {}, h('button', { id: 'add-passkey', onclick: addPasskey }, 'Add a passkey')),
    h(
      'table',
      { id: 'passkeys' },
      h('tr', {}, h('th', {}, 'who'), h('th', {}, 'role'), h('th', {}, 'added'), h('th', {}, '')),
      rows,
    ),
  );
}

async function addPasskey() {
  if (!window.PublicKeyCredential?.parseCreationOptionsFromJSON) {
    return notice('This browser cannot make passkeys here', false);
  }
  notice('Waiting for your passkey…');
  try {
    const { options, challenge } = await api('/api/passkeys/options', {});
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
    const credential = await navigator.credentials.create({ publicKey });
    await api('/api/passkeys/add', { challenge, answer: credential.toJSON() });
    notice(`Passkey added for ${state.session.who}: sign in with it at /login`, true);
  } catch (e) {
    notice(`No passkey added: ${e.message}`, false);
  }
  render();
}

async function render() {
  const main = document.getElementById('main');
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const view = parts[0] ?? '';
  if (view !== 'app') {
    state.logs?.close();
    state.logs = undefined;
  }
  state.view = path;
  if (view === 'history') return viewHistory(main, new URLSearchParams(query));
  if (view === 'app') return viewApp(main, parts[1], parts[2]);
  if (view === 'release') return viewRelease(main, parts[1], parts[2], parts[3]);
  if (view === 'passkeys') return viewPasskeys(main);
  viewApps(main);
}

/** A change seen live: the grid is drawn again; an open app page keeps its log and updates its card. */
function refresh() {
  if (state.view === '/' || state.view === '') return render();
  if (!state.view.startsWith('/app/')) return;
  const card = document.querySelector('#main > .card');
  const a = state.apps.find((x) => card && key(x) === card.dataset.app);
  if (!a) return;
  card.replaceWith(appCard(a));
  document.getElementById('runs')?.replaceChildren(recentRuns(a));
  document.getElementById('approvals')?.replaceWith(approvalsBox(a));
  document.getElementById('actions')?.replaceWith(appActions(a));
}

function listen() {
  const src = new EventSource('/api/events');
  const link = document.getElementById('link');
  src.onopen = () => link.classList.add('on');
  src.onerror = () => link.classList.remove('on');
  src.addEventListener('apps', (e) => {
    state.apps = JSON.parse(e.data).apps;
    refresh();
  });
  src.addEventListener('peers', (e) => {
    state.peers = JSON.parse(e.data).peers;
    if (state.view === '/' || state.view === '') render();
  });
  src.addEventListener('run', (e) => {
    const run = JSON.parse(e.data).run;
    state.runs.set(run.token, run);
    refresh();
  });
  src.addEventListener('history', () => {
    if (state.view.startsWith('/history') || state.view.startsWith('/app/')) render();
  });
}

async function start() {
  state.session = await api('/api/session');
  state.apps = await api('/api/apps');
  document.getElementById('who').textContent = `${state.session.who} (${state.session.role}) · ${state.session.host}`;
  window.addEventListener('hashchange', render);
  await render();
  listen();
}

start().catch((e) => {
  document.getElementById('main').textContent = `Could not load the dashboard: ${e.message}`;
});
