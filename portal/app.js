// The tenant portal: a small page over hookline's own tRPC API, called with the session token.
// No framework and no build: plain DOM, one module, same-origin only (the CSP allows nothing else).
// Each API call is its own HTTP request (like tRPC's httpLink), so it never exceeds
// HOOKLINE_MAX_BATCH_CALLS. Text always goes in as text nodes, never as HTML.

const TOKEN_KEY = 'hookline.portal.token';
const main = document.getElementById('main');
const statusLine = document.getElementById('status');

/** @type {{ tenant: { id: string, name: string }, readOnly: boolean, expiresAt: string, theme: { productName: string, accentColor: string } } | null} */
let session = null;
const token = takeToken();
let refreshTimer;

// ---------------------------------------------------------------- the token and the API

/** The token arrives in the URL's fragment (never sent to a server); kept for this tab only, then hidden. */
function takeToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    const fresh = decodeURIComponent(match[1]);
    try {
      sessionStorage.setItem(TOKEN_KEY, fresh);
    } catch {
      // Storage may be off in a third-party iframe: the token then lives in memory only.
    }
    history.replaceState(null, '', `${location.pathname}${location.search}#/endpoints`);
    return fresh;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

class ApiError extends Error {
  constructor(code, message, issues) {
    super(message);
    this.code = code;
    this.issues = issues;
  }
}

class SessionEnded extends Error {}

async function api(path, input, kind = 'query') {
  const headers = { authorization: `Bearer ${token}` };
  const response =
    kind === 'query'
      ? await fetch(`/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input ?? {}))}`, { headers })
      : await fetch(`/trpc/${path}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(input ?? {}),
        });
  const body = await response.json().catch(() => ({}));
  if (body.error) {
    const code = body.error.data?.code ?? 'ERROR';
    if (code === 'UNAUTHORIZED') throw new SessionEnded();
    const issues = body.error.data?.zodIssues;
    const detail = issues?.length ? issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ') : body.error.message;
    throw new ApiError(code, detail, issues);
  }
  return body.result?.data;
}
const query = (path, input) => api(path, input, 'query');
const mutate = (path, input) => api(path, input, 'mutation');

// ---------------------------------------------------------------- DOM helpers

/** h('a', { href }, 'text', child…): an element; `on*` attributes become listeners. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === 'class') element.className = value;
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function show(...nodes) {
  main.replaceChildren(...nodes.flat(Infinity).filter((node) => node !== null && node !== undefined && node !== false));
}

function say(message, kind = 'info') {
  statusLine.textContent = message;
  statusLine.className = kind === 'error' ? 'status error' : 'status';
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

function stateOf(endpoint) {
  return endpoint.disabled
    ? h(
        'span',
        { class: 'state disabled', title: endpoint.disabledAt ? `Disabled since ${when(endpoint.disabledAt)}` : undefined },
        'Disabled',
        endpoint.disabledReason ? ` (${endpoint.disabledReason})` : '',
        endpoint.disabledAt ? ` since ${when(endpoint.disabledAt)}` : '',
      )
    : h('span', { class: 'state enabled' }, 'Enabled');
}

function deliveryState(status) {
  return h('span', { class: `state ${status}` }, status);
}

/** A button that runs `action` once at a time, reporting what went wrong. */
function actionButton(label, action, attributes = {}) {
  const button = h('button', { type: 'button', ...attributes }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      failed(error);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function failed(error) {
  if (error instanceof SessionEnded) return showEnded();
  say(error instanceof ApiError ? `${error.message}` : 'Something went wrong; try again.', 'error');
}

function readOnly() {
  return session?.readOnly === true;
}

// ---------------------------------------------------------------- pages

function showEnded() {
  clearTimeout(refreshTimer);
  document.getElementById('nav').hidden = true;
  say('');
  const product = session?.theme.productName ?? document.getElementById('brand').textContent;
  show(
    h(
      'section',
      { class: 'ended', 'aria-labelledby': 'ended-title' },
      h('h1', { id: 'ended-title' }, 'This link has expired'),
      h('p', {}, `This ${product} page was opened with a link that has expired or was revoked.`),
      h('p', {}, h('strong', {}, 'Ask for a new link'), ' from the service that sent you here, then open it again.'),
    ),
  );
  main.focus();
}

async function endpointsPage(params) {
  const page = await query('endpoints.list', { limit: 50, ...(params.cursor ? { cursor: params.cursor } : {}) });
  // One stats call per endpoint (a tenant has few); one that fails shows a dash, not a broken page.
  const stats = await Promise.all(
    page.items.map((endpoint) => query('endpoints.stats', { endpointId: endpoint.id }).catch(keepSessionEnded)),
  );
  const rows = page.items.map((endpoint, index) =>
    h(
      'tr',
      {},
      h('td', { class: 'url' }, h('a', { href: `#/endpoints/${endpoint.id}` }, endpoint.url)),
      h('td', { class: 'optional' }, endpoint.description ?? ''),
      h('td', { class: 'optional' }, endpoint.eventTypes.length ? endpoint.eventTypes.join(', ') : 'All event types'),
      h('td', {}, stateOf(endpoint)),
      h('td', {}, lastResult(stats[index])),
      h('td', {}, h('a', { href: `#/deliveries?endpointId=${endpoint.id}`, 'aria-label': `Deliveries to ${endpoint.url}` }, 'Deliveries')),
    ),
  );
  show(
    h('h1', {}, 'Endpoints'),
    h('div', { class: 'actions' }, readOnly() ? null : h('a', { class: 'button primary', href: '#/endpoints/new' }, 'Add endpoint')),
    rows.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h('caption', { class: 'hint' }, 'Where your webhooks are sent'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'URL'),
                h('th', { class: 'optional' }, 'Description'),
                h('th', { class: 'optional' }, 'Event types'),
                h('th', {}, 'State'),
                h('th', {}, 'Last result'),
                h('th', {}, ''),
              ),
            ),
            h('tbody', {}, rows),
          ),
        )
      : h('p', { class: 'empty' }, 'No endpoints yet.', readOnly() ? '' : ' Add one to start receiving webhooks.'),
    pager(page.nextCursor, (cursor) => `#/endpoints?cursor=${cursor}`, params.cursor ? '#/endpoints' : null),
  );
}

/** A failed side call leaves its spot empty (null), but an ended session still ends the page. */
function keepSessionEnded(error) {
  if (error instanceof SessionEnded) throw error;
  return null;
}

/** "200 · 3 min ago", "timeout · 1 h ago", "No attempts yet" (or a dash when the stats are missing). */
function lastResult(stats) {
  if (!stats) return '—';
  const last = stats.lastAttempt;
  if (!last) return h('span', { class: 'hint' }, 'No attempts yet');
  const good = last.statusCode !== null && last.statusCode >= 200 && last.statusCode <= 299;
  const outcome = last.statusCode !== null ? String(last.statusCode) : (last.error ?? 'error');
  return h(
    'span',
    { title: last.errorMessage ?? undefined },
    h('span', { class: `state ${good ? 'succeeded' : 'failed'}` }, outcome),
    ` · ${ago(last.at)}`,
  );
}

function ago(iso) {
  const minutes = Math.floor((Date.now() - new Date(iso).getTime()) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ago`;
  return `${Math.floor(minutes / 1440)} d ago`;
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child instanceof Node ? child : String(child));
  return element;
}

/**
 * Attempts per hour over the last 24 h as stacked bars (succeeded below, failed above), in SVG
 * attributes and CSS classes only: the CSP allows no inline style. The sentence under it is the
 * chart for a screen reader too (the SVG is labelled by it).
 */
function successChart(stats) {
  const hours = stats.hours;
  const succeeded = hours.reduce((sum, hour) => sum + hour.succeeded, 0);
  const total = succeeded + hours.reduce((sum, hour) => sum + hour.failed, 0);
  const summary = total
    ? `${succeeded} of ${total} ${total === 1 ? 'attempt' : 'attempts'} succeeded in the last 24 h.`
    : 'No attempts in the last 24 h.';
  const most = Math.max(1, ...hours.map((hour) => hour.succeeded + hour.failed));
  const height = 60;
  const step = 10;
  const bars = hours.flatMap((hour, index) => {
    const x = index * step + 1;
    const okHeight = (hour.succeeded / most) * height;
    const badHeight = (hour.failed / most) * height;
    const label = `${new Date(hour.hour).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${hour.succeeded} succeeded, ${hour.failed} failed`;
    return [
      svg('rect', { class: 'bar-empty', x, y: height - 1, width: step - 2, height: 1 }),
      svg('rect', { class: 'bar-ok', x, y: height - okHeight, width: step - 2, height: okHeight }, svg('title', {}, label)),
      svg('rect', { class: 'bar-bad', x, y: height - okHeight - badHeight, width: step - 2, height: badHeight }, svg('title', {}, label)),
    ];
  });
  return h(
    'figure',
    { class: 'chart' },
    svg(
      'svg',
      { viewBox: `0 0 ${hours.length * step} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-labelledby': 'chart-summary' },
      ...bars,
    ),
    h('div', { class: 'chart-axis hint', 'aria-hidden': 'true' }, h('span', {}, '24 h ago'), h('span', {}, 'now')),
    h(
      'figcaption',
      { id: 'chart-summary' },
      summary,
      ' ',
      h(
        'span',
        { class: 'hint' },
        h('span', { class: 'key-ok' }, 'succeeded'),
        ' · ',
        h('span', { class: 'key-bad' }, 'failed'),
        ', per hour',
      ),
    ),
  );
}

function pager(nextCursor, nextHref, firstHref) {
  if (!nextCursor && !firstHref) return null;
  return h(
    'nav',
    { class: 'actions', 'aria-label': 'Pages' },
    firstHref ? h('a', { href: firstHref }, 'First page') : null,
    nextCursor ? h('a', { href: nextHref(nextCursor) }, 'Next page') : null,
  );
}

/** The add/edit form: URL, description, event types from the catalog, payload filter, rate limit, ordering, custom headers; the signing when adding (fixed after). */
async function endpointForm(endpoint) {
  const catalog = await query('eventTypes.list', {});
  const chosen = new Set(endpoint?.eventTypes ?? []);
  const url = h('input', {
    type: 'url',
    name: 'url',
    required: true,
    value: endpoint?.url ?? '',
    placeholder: 'https://example.com/webhooks',
    autocomplete: 'off',
  });
  const description = h('input', { type: 'text', name: 'description', value: endpoint?.description ?? '', maxlength: 1000 });
  const typeBoxes = catalog.items.map((type) =>
    h(
      'label',
      {},
      h('input', { type: 'checkbox', name: 'eventTypes', value: type.name, checked: chosen.has(type.name) }),
      h('span', { class: 'mono' }, type.name),
      type.description ? h('span', { class: 'hint' }, ` — ${type.description}`) : null,
    ),
  );
  const filter = h(
    'textarea',
    { name: 'filter', rows: 4, class: 'mono', spellcheck: 'false', placeholder: '{"job.status": {"$in": ["failed", "cancelled"]}}' },
    endpoint?.filter ? JSON.stringify(endpoint.filter, null, 2) : '',
  );
  const rateLimit = h('input', {
    type: 'number',
    name: 'rateLimit',
    min: 1,
    max: 10000,
    step: 1,
    inputmode: 'numeric',
    value: endpoint?.rateLimit ?? '',
  });
  const fifo = h('input', { type: 'checkbox', name: 'ordering', value: 'fifo', checked: endpoint?.ordering === 'fifo' });
  const headerRows = h('div', {});
  const addHeaderRow = (name = '', value = '') => {
    const row = h(
      'div',
      { class: 'header-row' },
      h('label', {}, 'Header name', h('input', { type: 'text', name: 'headerName', value: name, autocomplete: 'off' })),
      h('label', {}, 'Header value', h('input', { type: 'text', name: 'headerValue', value, autocomplete: 'off' })),
    );
    row.append(h('button', { type: 'button', class: 'danger', onclick: () => row.remove(), 'aria-label': 'Remove this header' }, 'Remove'));
    headerRows.append(row);
  };
  for (const [name, value] of Object.entries(endpoint?.headers ?? {})) addHeaderRow(name, value);
  // The name and its hint in one span: as separate flex items, a long hint squeezed the name onto two lines.
  const signingChoice = (value, label, hint) =>
    h(
      'label',
      {},
      h('input', { type: 'radio', name: 'signing', value, checked: value === 'hmac' }),
      h('span', {}, label, h('span', { class: 'hint' }, ` — ${hint}`)),
    );
  // Offered when adding only, and only where the deployment's scheme allows it (/portal/session says).
  const signing =
    endpoint || !session.signings?.includes('ed25519')
      ? null
      : h(
          'fieldset',
          {},
          h('legend', {}, 'Signing'),
          signingChoice('hmac', 'Shared secret (HMAC)', 'the usual: your receiver keeps a secret'),
          signingChoice('ed25519', 'Public key (Ed25519)', 'your receiver verifies with a public key, which it need not keep secret'),
          h('p', { class: 'hint' }, 'Fixed once the endpoint is added.'),
        );
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('label', {}, 'Endpoint URL', url),
    h('label', {}, 'Description (optional)', description),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Event types'),
      h('p', { class: 'hint' }, 'Tick none to receive every event type.'),
      typeBoxes.length ? typeBoxes : h('p', { class: 'empty' }, 'The catalog is empty.'),
    ),
    h(
      'label',
      {},
      'Payload filter (optional, JSON)',
      h(
        'span',
        { class: 'hint' },
        'Deliver only events whose payload matches, e.g. {"job.status": "failed"}; leave empty for every event.',
      ),
      filter,
    ),
    h(
      'label',
      {},
      'Rate limit (optional, attempts per second)',
      h(
        'span',
        { class: 'hint' },
        'At most this many deliveries to the endpoint in any one second (1 to 10,000); the rest wait, none is dropped. Leave empty for no limit.',
      ),
      rateLimit,
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Ordering'),
      h(
        'label',
        {},
        fifo,
        h(
          'span',
          {},
          'In order, one at a time (FIFO)',
          h('span', { class: 'hint' }, ' — in the order events were sent; a delivery being retried holds back the later ones'),
        ),
      ),
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Custom headers'),
      h(
        'p',
        { class: 'hint' },
        'Sent with every delivery, e.g. an authorization header. Saved values are shown masked; leave them as they are to keep them.',
      ),
      headerRows,
      h('button', { type: 'button', onclick: () => addHeaderRow() }, 'Add header'),
    ),
    signing,
  );
  const read = () => {
    const headers = {};
    for (const row of headerRows.querySelectorAll('.header-row')) {
      const [name, value] = row.querySelectorAll('input');
      if (name.value.trim()) headers[name.value.trim()] = value.value;
    }
    let parsedFilter = null;
    if (filter.value.trim()) {
      try {
        parsedFilter = JSON.parse(filter.value);
      } catch {
        throw new ApiError('BAD_REQUEST', 'The payload filter is not valid JSON.');
      }
    }
    return {
      url: url.value.trim(),
      description: description.value.trim() || null,
      filter: parsedFilter,
      // (A value that is not a whole number goes as it is: the API answers with the rule.)
      rateLimit: rateLimit.value.trim() ? Number(rateLimit.value) : null,
      ordering: fifo.checked ? 'fifo' : 'none',
      eventTypes: typeBoxes
        .map((label) => label.querySelector('input'))
        .filter((box) => box.checked)
        .map((box) => box.value),
      headers,
      ...(signing && { signing: signing.querySelector('input[name="signing"]:checked')?.value ?? 'hmac' }),
    };
  };
  return { form, read };
}

async function newEndpointPage() {
  if (readOnly()) return show(h('h1', {}, 'Add endpoint'), h('p', {}, 'This view is read-only.'));
  const { form, read } = await endpointForm(undefined);
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Add endpoint');
  form.append(h('div', { class: 'actions' }, submit, h('a', { href: '#/endpoints' }, 'Cancel')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const values = read();
      if (!values.description) delete values.description;
      if (values.filter === null) delete values.filter;
      if (values.rateLimit === null) delete values.rateLimit;
      const created = await mutate('endpoints.create', values);
      say('Endpoint added.');
      show(
        h('h1', {}, 'Endpoint added'),
        created.endpoint.signing === 'ed25519'
          ? publicKeyPanel(created.secret, 'Its public key')
          : secretPanel(created.secret, 'Its signing secret'),
        h(
          'div',
          { class: 'actions' },
          h('a', { class: 'button primary', href: `#/endpoints/${created.endpoint.id}` }, 'Open the endpoint'),
          h('a', { href: '#/endpoints' }, 'All endpoints'),
        ),
      );
    } catch (error) {
      failed(error);
    } finally {
      submit.disabled = false;
    }
  });
  show(h('h1', {}, 'Add endpoint'), form);
}

/** A secret, shown this once. */
function secretPanel(secret, title) {
  return h(
    'section',
    { class: 'secret', 'aria-label': title },
    h('h2', {}, title),
    h('p', {}, 'Copy it now: it is shown only this once. Use it to verify the signature of each webhook.'),
    h('p', { class: 'mono', 'data-secret': '' }, secret),
  );
}

/** An Ed25519 endpoint's public key: not secret, and shown on the endpoint's page too. */
function publicKeyPanel(publicKey, title) {
  return h(
    'section',
    { class: 'secret', 'aria-label': title },
    h('h2', {}, title),
    h('p', {}, 'Use it to verify the v1a signature of each webhook. It is not secret; the endpoint page shows it too.'),
    h('p', { class: 'mono', 'data-public-key': '' }, publicKey),
  );
}

async function endpointPage(endpointId) {
  const [endpoint, stats] = await Promise.all([
    query('endpoints.get', { endpointId }),
    query('endpoints.stats', { endpointId }).catch(keepSessionEnded),
  ]);
  const extra = h('div', {});
  const sections = [
    h('h1', {}, 'Endpoint'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'URL'),
      h('dd', { class: 'mono' }, endpoint.url),
      h('dt', {}, 'State'),
      h('dd', {}, stateOf(endpoint)),
      h('dt', {}, 'Event types'),
      h('dd', {}, endpoint.eventTypes.length ? endpoint.eventTypes.join(', ') : 'All event types'),
      h('dt', {}, 'Signing'),
      h('dd', {}, endpoint.signing === 'ed25519' ? 'Public key (Ed25519)' : 'Shared secret (HMAC)'),
      endpoint.publicKey ? [h('dt', {}, 'Public key'), h('dd', { class: 'mono', 'data-public-key': '' }, endpoint.publicKey)] : null,
      h('dt', {}, 'Payload filter'),
      h('dd', { class: endpoint.filter ? 'mono' : '' }, endpoint.filter ? JSON.stringify(endpoint.filter) : 'Every payload'),
      h('dt', {}, 'Rate limit'),
      h('dd', {}, endpoint.rateLimit === null ? 'None' : `${endpoint.rateLimit} per second`),
      h('dt', {}, 'Ordering'),
      h('dd', {}, endpoint.ordering === 'fifo' ? 'In order, one at a time (FIFO)' : 'None (in parallel)'),
      h('dt', {}, 'Created'),
      h('dd', {}, when(endpoint.createdAt)),
      h('dt', {}, 'Last result'),
      h('dd', {}, lastResult(stats)),
    ),
    stats ? [h('h2', {}, 'Delivery success, last 24 hours'), successChart(stats)] : null,
    h('p', {}, h('a', { href: `#/deliveries?endpointId=${endpoint.id}` }, 'Deliveries to this endpoint')),
    extra,
  ];
  if (!readOnly()) {
    sections.push(
      h(
        'div',
        { class: 'actions' },
        actionButton(endpoint.disabled ? 'Enable' : 'Disable', async () => {
          await mutate('endpoints.update', { endpointId, disabled: !endpoint.disabled });
          say(endpoint.disabled ? 'Endpoint enabled.' : 'Endpoint disabled.');
          await render();
        }),
        actionButton('Send a test event', async () => {
          const sent = await mutate('endpoints.sendTest', { endpointId });
          say(`Test event ${sent.eventId} sent.`);
        }),
        actionButton('Rotate secret', async () => {
          const rotated = await mutate('endpoints.rotateSecret', { endpointId });
          extra.replaceChildren(
            endpoint.signing === 'ed25519'
              ? publicKeyPanel(rotated.secret, 'The new public key')
              : secretPanel(rotated.secret, 'The new signing secret'),
          );
          say('Secret rotated; the old one keeps working for a grace period.');
        }),
        actionButton('Delete…', async () => extra.replaceChildren(deleteConfirmation(endpoint)), { class: 'danger' }),
      ),
      recoverForm(endpointId),
    );
    const { form, read } = await endpointForm(endpoint);
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save changes');
    form.append(h('div', { class: 'actions' }, save));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      save.disabled = true;
      try {
        await mutate('endpoints.update', { endpointId, ...read() });
        say('Endpoint saved.');
        await render();
      } catch (error) {
        failed(error);
      } finally {
        save.disabled = false;
      }
    });
    sections.push(h('h2', {}, 'Edit'), form);
  }
  show(...sections);
}

function deleteConfirmation(endpoint) {
  const box = h(
    'section',
    { class: 'confirm', role: 'alertdialog', 'aria-labelledby': 'confirm-title' },
    h('h2', { id: 'confirm-title' }, 'Delete this endpoint?'),
    h('p', {}, `${endpoint.url} will receive no more webhooks. This cannot be undone.`),
    h(
      'div',
      { class: 'actions' },
      actionButton(
        'Delete endpoint',
        async () => {
          await mutate('endpoints.delete', { endpointId: endpoint.id });
          say('Endpoint deleted.');
          location.hash = '#/endpoints';
        },
        { class: 'danger' },
      ),
      h('button', { type: 'button', onclick: () => box.remove() }, 'Cancel'),
    ),
  );
  queueMicrotask(() => box.querySelector('button')?.focus());
  return box;
}

function recoverForm(endpointId) {
  const since = h('input', {
    type: 'datetime-local',
    name: 'since',
    required: true,
    value: localInputValue(new Date(Date.now() - 3600_000)),
  });
  const submit = h('button', { type: 'submit' }, 'Recover');
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Recover failed deliveries' },
    h('label', {}, 'Resend failed deliveries since', since),
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const result = await mutate('endpoints.recover', { endpointId, since: new Date(since.value).toISOString() });
      say(`${result.requeued} failed ${result.requeued === 1 ? 'delivery' : 'deliveries'} queued again.`);
    } catch (error) {
      failed(error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function localInputValue(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

async function eventTypesPage() {
  const catalog = await query('eventTypes.list', {});
  show(
    h('h1', {}, 'Event catalog'),
    catalog.items.length
      ? h(
          'div',
          {},
          catalog.items.map((type) =>
            h(
              'section',
              { 'aria-label': type.name },
              h('h2', { class: 'mono' }, type.name),
              h('p', {}, type.description ?? h('span', { class: 'hint' }, 'No description.')),
              type.schema ? h('details', {}, h('summary', {}, 'Payload schema'), h('pre', {}, JSON.stringify(type.schema, null, 2))) : null,
            ),
          ),
        )
      : h('p', { class: 'empty' }, 'No event types are published yet.'),
  );
}

/** The delivery log: newest first unless `order=asc`; filters travel in the address, so paging keeps them. */
async function deliveriesPage(params) {
  const filter = {};
  for (const name of ['status', 'endpointId', 'eventType', 'since', 'until']) if (params[name]) filter[name] = params[name];
  const order = params.order === 'asc' ? 'asc' : 'desc';
  const [page, endpoints, catalog] = await Promise.all([
    query('deliveries.list', { limit: 50, ...filter, order, ...(params.cursor ? { cursor: params.cursor } : {}) }),
    query('endpoints.list', { limit: 500 }),
    query('eventTypes.list', { includeArchived: true }),
  ]);
  const urlOf = new Map(endpoints.items.map((e) => [e.id, e.url]));
  const status = h(
    'select',
    { name: 'status' },
    ['', 'pending', 'succeeded', 'failed'].map((value) =>
      h('option', { value, selected: (params.status ?? '') === value }, value || 'Any status'),
    ),
  );
  const endpoint = h(
    'select',
    { name: 'endpointId' },
    h('option', { value: '' }, 'Any endpoint'),
    endpoints.items.map((e) => h('option', { value: e.id, selected: params.endpointId === e.id }, e.url)),
  );
  const eventType = h(
    'select',
    { name: 'eventType' },
    h('option', { value: '' }, 'Any event type'),
    catalog.items.map((t) => h('option', { value: t.name, selected: params.eventType === t.name }, t.name)),
  );
  const since = h('input', { type: 'datetime-local', name: 'since', value: params.since ? localInputValue(new Date(params.since)) : '' });
  const until = h('input', { type: 'datetime-local', name: 'until', value: params.until ? localInputValue(new Date(params.until)) : '' });
  const newestFirst = h('input', { type: 'checkbox', name: 'newestFirst', checked: order === 'desc' });
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter deliveries' },
    h('label', {}, 'Status', status),
    h('label', {}, 'Endpoint', endpoint),
    h('label', {}, 'Event type', eventType),
    h('label', {}, 'From', since),
    h('label', {}, 'Until', until),
    h('label', { class: 'check' }, newestFirst, 'Newest first'),
    h('button', { type: 'submit' }, 'Filter'),
  );
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    // datetime-local is the viewer's local time; the API takes ISO instants.
    const iso = (input) => (input.value ? new Date(input.value).toISOString() : '');
    const chosen = {
      status: status.value,
      endpointId: endpoint.value,
      eventType: eventType.value,
      since: iso(since),
      until: iso(until),
      order: newestFirst.checked ? '' : 'asc',
    };
    location.hash = `#/deliveries?${new URLSearchParams(Object.entries(chosen).filter(([, v]) => v))}`;
  });
  const rows = page.items.map((delivery) =>
    h(
      'tr',
      {},
      h('td', { class: 'mono' }, h('a', { href: `#/deliveries/${delivery.id}` }, delivery.id)),
      h('td', { class: 'mono whole' }, delivery.type),
      h('td', {}, deliveryState(delivery.status)),
      h('td', { class: 'url optional' }, delivery.endpointId ? (urlOf.get(delivery.endpointId) ?? delivery.endpointId) : 'one-off URL'),
      h('td', {}, String(delivery.attemptCount)),
      h('td', { class: 'optional' }, delivery.lastError ?? ''),
      h('td', { class: 'optional' }, when(delivery.createdAt)),
    ),
  );
  const base = new URLSearchParams({ ...filter, ...(order === 'asc' ? { order } : {}) });
  show(
    h('h1', {}, 'Deliveries'),
    filters,
    rows.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h('caption', { class: 'hint' }, order === 'desc' ? 'Newest first' : 'Oldest first'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'Delivery'),
                h('th', {}, 'Event type'),
                h('th', {}, 'Status'),
                h('th', { class: 'optional' }, 'Endpoint'),
                h('th', {}, 'Attempts'),
                h('th', { class: 'optional' }, 'Last error'),
                h('th', { class: 'optional' }, 'Created'),
              ),
            ),
            h('tbody', {}, rows),
          ),
        )
      : h('p', { class: 'empty' }, 'No deliveries match.'),
    pager(
      page.nextCursor,
      (cursor) => `#/deliveries?${new URLSearchParams({ ...Object.fromEntries(base), cursor })}`,
      params.cursor ? `#/deliveries?${base}` : null,
    ),
  );
  // Pending deliveries change on their own: look again in a few seconds while some are shown.
  if (page.items.some((d) => d.status === 'pending')) scheduleRefresh(5000);
}

async function deliveryPage(deliveryId) {
  const delivery = await query('deliveries.get', { deliveryId });
  const event = await query('events.get', { eventId: delivery.eventId }).catch(() => null);
  const attempts = delivery.attempts.map((attempt) =>
    h(
      'tr',
      {},
      h('td', {}, String(attempt.number)),
      h('td', {}, when(attempt.startedAt)),
      h(
        'td',
        {},
        attempt.statusCode !== null ? `HTTP ${attempt.statusCode}` : h('span', { class: 'state failed' }, attempt.error ?? 'error'),
      ),
      h('td', {}, `${attempt.durationMs} ms`),
      h('td', { class: 'mono optional' }, attempt.responseBody ?? attempt.errorMessage ?? ''),
    ),
  );
  show(
    h('h1', {}, 'Delivery'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Delivery'),
      h('dd', { class: 'mono' }, delivery.id),
      h('dt', {}, 'Status'),
      h('dd', {}, deliveryState(delivery.status)),
      h('dt', {}, 'Event'),
      h(
        'dd',
        { class: 'mono' },
        h('a', { href: `#/events/${delivery.eventId}` }, event ? `${event.type} · ${event.id}` : delivery.eventId),
      ),
      h('dt', {}, 'Endpoint'),
      h('dd', {}, delivery.endpointId ? h('a', { href: `#/endpoints/${delivery.endpointId}` }, delivery.endpointId) : 'one-off URL'),
      h('dt', {}, 'Next attempt'),
      h('dd', {}, when(delivery.nextAttemptAt)),
    ),
    readOnly()
      ? null
      : h(
          'div',
          { class: 'actions' },
          actionButton(
            'Retry delivery',
            async () => {
              await mutate('deliveries.retry', { deliveryId });
              say('Delivery queued again.');
              await render();
            },
            { class: 'primary' },
          ),
        ),
    h('h2', {}, 'Attempts'),
    attempts.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, '#'),
                h('th', {}, 'Time'),
                h('th', {}, 'Result'),
                h('th', {}, 'Duration'),
                h('th', { class: 'optional' }, 'Response'),
              ),
            ),
            h('tbody', {}, attempts),
          ),
        )
      : h('p', { class: 'empty' }, 'Not attempted yet.'),
    event ? [h('h2', {}, 'Payload'), h('pre', {}, JSON.stringify(event.payload, null, 2))] : null,
  );
  if (delivery.status === 'pending') scheduleRefresh(3000);
}

/** Events by type and time (the delivery log's other way in): each opens with its deliveries. */
async function eventsPage(params) {
  const filter = {};
  if (params.type) filter.type = params.type;
  if (params.since) filter.since = params.since;
  const [page, catalog] = await Promise.all([
    query('events.list', { limit: 50, ...filter, ...(params.cursor ? { cursor: params.cursor } : {}) }),
    query('eventTypes.list', { includeArchived: true }),
  ]);
  const type = h(
    'select',
    { name: 'type' },
    h('option', { value: '' }, 'Any event type'),
    catalog.items.map((t) => h('option', { value: t.name, selected: params.type === t.name }, t.name)),
  );
  const since = h('input', { type: 'datetime-local', name: 'since', value: params.since ? localInputValue(new Date(params.since)) : '' });
  const filters = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter events' },
    h('label', {}, 'Event type', type),
    h('label', {}, 'Since', since),
    h('button', { type: 'submit' }, 'Filter'),
  );
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = { type: type.value, since: since.value ? new Date(since.value).toISOString() : '' };
    location.hash = `#/events?${new URLSearchParams(Object.entries(chosen).filter(([, v]) => v))}`;
  });
  const rows = page.items.map((e) =>
    h(
      'tr',
      {},
      h('td', { class: 'mono' }, h('a', { href: `#/events/${e.id}` }, e.id)),
      h('td', { class: 'mono' }, e.type),
      h('td', { class: 'optional' }, when(e.createdAt)),
    ),
  );
  const base = new URLSearchParams(filter);
  show(
    h('h1', {}, 'Events'),
    filters,
    rows.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h('caption', { class: 'hint' }, 'Oldest first'),
            h('thead', {}, h('tr', {}, h('th', {}, 'Event'), h('th', {}, 'Type'), h('th', { class: 'optional' }, 'Created'))),
            h('tbody', {}, rows),
          ),
        )
      : h('p', { class: 'empty' }, 'No events match.'),
    pager(
      page.nextCursor,
      (cursor) => `#/events?${new URLSearchParams({ ...Object.fromEntries(base), cursor })}`,
      params.cursor ? `#/events?${base}` : null,
    ),
  );
}

async function eventPage(eventId) {
  const event = await query('events.get', { eventId });
  const rows = event.deliveries.map((delivery) =>
    h(
      'tr',
      {},
      h('td', { class: 'mono' }, h('a', { href: `#/deliveries/${delivery.id}` }, delivery.id)),
      h('td', {}, deliveryState(delivery.status)),
      h('td', {}, String(delivery.attemptCount)),
      h('td', { class: 'optional' }, delivery.lastError ?? ''),
    ),
  );
  show(
    h('h1', {}, 'Event'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Event'),
      h('dd', { class: 'mono' }, event.id),
      h('dt', {}, 'Type'),
      h('dd', { class: 'mono' }, event.type),
      h('dt', {}, 'Created'),
      h('dd', {}, when(event.createdAt)),
    ),
    h('h2', {}, 'Deliveries'),
    rows.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'Delivery'),
                h('th', {}, 'Status'),
                h('th', {}, 'Attempts'),
                h('th', { class: 'optional' }, 'Last error'),
              ),
            ),
            h('tbody', {}, rows),
          ),
        )
      : h('p', { class: 'empty' }, 'No endpoint was subscribed to this event.'),
    h('h2', {}, 'Payload'),
    h('pre', {}, JSON.stringify(event.payload, null, 2)),
  );
}

// ---------------------------------------------------------------- routing

function scheduleRefresh(ms) {
  clearTimeout(refreshTimer);
  const at = location.hash;
  refreshTimer = setTimeout(() => {
    if (location.hash === at) void render({ quiet: true });
  }, ms);
}

function route() {
  const [path, search] = location.hash.replace(/^#/, '').split('?');
  const params = Object.fromEntries(new URLSearchParams(search ?? ''));
  const parts = (path || '/endpoints').split('/').filter(Boolean);
  if (parts[0] === 'endpoints' && parts[1] === 'new') return { nav: 'endpoints', run: () => newEndpointPage() };
  if (parts[0] === 'endpoints' && parts[1]) return { nav: 'endpoints', run: () => endpointPage(parts[1]) };
  if (parts[0] === 'deliveries' && parts[1]) return { nav: 'deliveries', run: () => deliveryPage(parts[1]) };
  if (parts[0] === 'deliveries') return { nav: 'deliveries', run: () => deliveriesPage(params) };
  if (parts[0] === 'events' && parts[1]) return { nav: 'events', run: () => eventPage(parts[1]) };
  if (parts[0] === 'events') return { nav: 'events', run: () => eventsPage(params) };
  if (parts[0] === 'event-types') return { nav: 'event-types', run: () => eventTypesPage() };
  return { nav: 'endpoints', run: () => endpointsPage(params) };
}

async function render({ quiet = false } = {}) {
  clearTimeout(refreshTimer);
  const { nav, run } = route();
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === `#/${nav}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  try {
    await run();
    if (!quiet) main.focus({ preventScroll: true });
  } catch (error) {
    if (error instanceof SessionEnded) return showEnded();
    if (error instanceof ApiError && error.code === 'NOT_FOUND')
      return show(
        h('h1', {}, 'Not found'),
        h('p', {}, 'It does not exist, or it is not yours.'),
        h('a', { href: '#/endpoints' }, 'Back to endpoints'),
      );
    failed(error);
  }
}

function applyTheme(theme) {
  if (!theme) return;
  document.title = theme.productName;
  document.getElementById('brand').textContent = theme.productName;
  document.documentElement.style.setProperty('--accent', theme.accentColor);
}

async function start() {
  const response = await fetch('/portal/session', { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body = await response.json().catch(() => ({}));
  applyTheme(body.theme);
  if (!response.ok) return showEnded();
  session = body;
  document.getElementById('nav').hidden = false;
  document.getElementById('read-only-badge').hidden = !session.readOnly;
  window.addEventListener('hashchange', () => {
    say('');
    void render();
  });
  await render();
}

start().catch(failed);
