// The tenant portal in a real browser: headless Chromium (test/helpers/browser.ts: from the
// @sparticuz/chromium package, so nothing is downloaded) drives /portal against a running hookline with a worker and loopback
// receivers. The browser is launched with its background traffic off and every request it makes
// is checked to go to the app under test only.
// With HOOKLINE_UPDATE_SCREENSHOTS=1 the screenshots go to docs/ (the README shows them).
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { launchBrowser } from './helpers/browser.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const screenshotDir = process.env.HOOKLINE_UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../docs/', import.meta.url))
  : join(tmpdir(), 'hookline-portal-screenshots');

let app: TestApp;
let browser: Browser;
let ok: Receiver;
let failing: Receiver;
let tenantId: string;
let tenantKey: string;
let otherEndpointUrl: string;
let otherEndpointId: string;
const requested = new Set<string>();

beforeAll(async () => {
  [app, ok, failing] = await Promise.all([
    startTestApp({ worker: true, env: { HOOKLINE_PORTAL_PRODUCT_NAME: 'Acme Webhooks', HOOKLINE_PORTAL_ACCENT_COLOR: '#6d28d9' } }),
    startReceiver(() => ({ status: 200, body: 'thanks' })),
    startReceiver(() => ({ status: 500, body: 'receiver is down' })),
  ]);
  mkdirSync(screenshotDir, { recursive: true });
  await app.admin.eventTypes.upsert.mutate({
    name: 'invoice.paid',
    description: 'An invoice was paid in full.',
    schema: { type: 'object', properties: { invoiceId: { type: 'string' }, amount: { type: 'integer' } }, required: ['invoiceId'] },
  });
  await app.admin.eventTypes.upsert.mutate({ name: 'invoice.overdue', description: 'An invoice is past its due date.' });
  const tenant = await app.admin.tenants.create.mutate({ name: 'Northwind' });
  tenantId = tenant.tenant.id;
  tenantKey = tenant.apiKey;
  const client = app.client(tenantKey);
  await client.endpoints.create.mutate({ url: `${ok.url}/hooks`, description: 'Billing service', eventTypes: ['invoice.paid'] });
  await client.endpoints.create.mutate({ url: `${failing.url}/hooks`, description: 'Old server', eventTypes: ['invoice.overdue'] });
  const other = await app.admin.tenants.create.mutate({ name: 'Someone else' });
  otherEndpointUrl = 'http://127.0.0.1:9/someone-else-private-hook';
  otherEndpointId = (await app.client(other.apiKey).endpoints.create.mutate({ url: otherEndpointUrl })).endpoint.id;

  await app.admin.events.send.mutate({ tenantId, type: 'invoice.paid', payload: { invoiceId: 'inv_1001', amount: 4200 } });
  await app.admin.events.send.mutate({ tenantId, type: 'invoice.overdue', payload: { invoiceId: 'inv_0999' } });
  await waitUntil(async () => {
    const page = await client.deliveries.list.query({});
    return page.items.length === 2 && page.items.every((d) => d.status !== 'pending');
  });

  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([ok?.close(), failing?.close()]);
  await app?.close();
  // Everything the browser asked for, in every test: the app's own origin only. (`data:` URLs are
  // no request: the browser's own date-picker icon is one.)
  expect(requested.size).toBeGreaterThan(0);
  expect([...requested].filter((url) => !url.startsWith(`${app.url}/`) && !url.startsWith('data:'))).toEqual([]);
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function openPortal(token: string, width = 1280, path = ''): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width, height: width < 700 ? 800 : 760 });
  page.on('request', (request) => requested.add(request.url()));
  await page.goto(`${app.url}/portal#token=${token}`, { waitUntil: 'networkidle0' });
  if (path) {
    await go(page, path);
    await settle(page);
  }
  return page;
}

/** Moves the page to `hash` (as following a link does) and waits for its calls. */
async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  await settle(page);
}

async function settle(page: Page): Promise<void> {
  await page.waitForNetworkIdle({ idleTime: 100 });
}

async function text(page: Page): Promise<string> {
  return page.$eval('body', (body) => body.innerText);
}

async function session(options: { readOnly?: boolean } = {}) {
  return app.admin.portal.createSession.mutate({ tenantId, ...options });
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotDir, `portal-${name}.png`), fullPage: true });
}

async function clickButton(page: Page, label: string): Promise<void> {
  const [button] = await page.$$(`xpath/.//button[normalize-space(.)='${label}'] | .//a[normalize-space(.)='${label}']`);
  if (!button) throw new Error(`no button or link "${label}"`);
  await button.click();
  await settle(page);
}

describe('the tenant portal in a browser', () => {
  it('serves the page with a CSP that allows no other host and frame-ancestors from the configuration', async () => {
    const response = await fetch(`${app.url}/portal`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
  });

  it("shows the session's own endpoints, themed, and never another tenant's", async () => {
    const page = await openPortal((await session()).token);
    await page.waitForSelector('table');
    const shown = await text(page);
    expect(shown).toContain(`${ok.url}/hooks`);
    expect(shown).toContain(`${failing.url}/hooks`);
    expect(shown).not.toContain(otherEndpointUrl);
    expect(await page.$eval('#brand', (e) => e.textContent)).toBe('Acme Webhooks');
    expect(await page.evaluate(`getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()`)).toBe('#6d28d9');
    // The token left the address bar.
    expect(page.url()).not.toContain('token=');
    // Each endpoint's last result, from endpoints.stats.
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.innerText));
    expect(await page.$$eval('thead th', (ths) => ths.map((th) => th.textContent))).toContain('Last result');
    expect(rows.find((row) => row.includes(`${ok.url}/hooks`))).toMatch(/\b200 · (just now|\d+ min ago)/);
    expect(rows.find((row) => row.includes(`${failing.url}/hooks`))).toMatch(/\b500 · (just now|\d+ min ago)/);
    await screenshot(page, 'endpoints');

    // Another tenant's endpoint, by its id in the address: not found, nothing of it shown.
    await go(page, `#/endpoints/${otherEndpointId}`);
    const foreign = await text(page);
    expect(foreign).toContain('Not found');
    expect(foreign).not.toContain(otherEndpointUrl);
    await page.close();
  });

  it('shows the event catalog with descriptions and schemas', async () => {
    const page = await openPortal((await session()).token, 1280, '#/event-types');
    const shown = await text(page);
    expect(shown).toContain('invoice.paid');
    expect(shown).toContain('An invoice was paid in full.');
    await page.close();
  });

  it('adds an endpoint through the form, with event types and a custom header, and reveals its secret once', async () => {
    const page = await openPortal((await session()).token);
    await clickButton(page, 'Add endpoint');
    await page.type('input[name=url]', `${ok.url}/new-hooks`);
    await page.type('input[name=description]', 'Added from the portal');
    await page.click('input[name=eventTypes][value="invoice.overdue"]');
    await page.type('textarea[name=filter]', '{"invoice.amount": {"$gte": 100}}');
    await page.type('input[name=rateLimit]', '50');
    await page.click('input[name=ordering][value="fifo"]');
    await clickButton(page, 'Add header');
    await page.type('input[name=headerName]', 'X-Team');
    await page.type('input[name=headerValue]', 'billing');
    await screenshot(page, 'add-endpoint');
    await clickButton(page, 'Add endpoint');
    await page.waitForSelector('[data-secret]');
    const secret = await page.$eval('[data-secret]', (e) => e.textContent);
    expect(secret).toMatch(/^whsec_/);

    const created = (await app.client(tenantKey).endpoints.list.query()).items.find((e) => e.url === `${ok.url}/new-hooks`);
    expect(created).toMatchObject({
      description: 'Added from the portal',
      eventTypes: ['invoice.overdue'],
      filter: { 'invoice.amount': { $gte: 100 } },
      rateLimit: 50,
      ordering: 'fifo',
    });
    expect(Object.keys(created!.headers)).toEqual(['x-team']);

    // A bad URL is refused with the API's reason, and nothing is created.
    await go(page, '#/endpoints');
    await clickButton(page, 'Add endpoint');
    await page.type('input[name=url]', 'ftp://127.0.0.1/x');
    await clickButton(page, 'Add endpoint');
    expect(await page.$eval('#status', (e) => e.className)).toContain('error');
    // So is a filter that is not JSON, or breaks the filter rules.
    await page.$eval('input[name=url]', (e) => ((e as unknown as { value: string }).value = ''));
    await page.type('input[name=url]', `${ok.url}/filtered`);
    await page.type('textarea[name=filter]', '{"plan": ');
    await clickButton(page, 'Add endpoint');
    expect(await page.$eval('#status', (e) => e.textContent)).toContain('The payload filter is not valid JSON.');
    await page.$eval('textarea[name=filter]', (e) => ((e as unknown as { value: string }).value = ''));
    await page.type('textarea[name=filter]', '{"plan": {"$like": "pro"}}');
    await clickButton(page, 'Add endpoint');
    expect(await page.$eval('#status', (e) => e.textContent)).toContain('unknown operator');
    // And a rate limit out of range.
    await page.$eval('textarea[name=filter]', (e) => ((e as unknown as { value: string }).value = ''));
    await page.type('input[name=rateLimit]', '0');
    await clickButton(page, 'Add endpoint');
    expect(await page.$eval('#status', (e) => e.textContent)).toContain('rateLimit must be at least 1');
    expect((await app.client(tenantKey).endpoints.list.query()).items).toHaveLength(3);
    await page.close();
  });

  it('adds an Ed25519 endpoint: shows its public key, on its page too, and a rotation shows the new one', async () => {
    const page = await openPortal((await session()).token);
    await clickButton(page, 'Add endpoint');
    await page.type('input[name=url]', `${ok.url}/ed25519`);
    await page.click('input[name=eventTypes][value="invoice.overdue"]');
    await page.click('input[name=signing][value="ed25519"]');
    await clickButton(page, 'Add endpoint');
    await page.waitForSelector('[data-public-key]');
    const publicKey = await page.$eval('[data-public-key]', (e) => e.textContent);
    expect(publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const created = (await app.client(tenantKey).endpoints.list.query()).items.find((e) => e.url === `${ok.url}/ed25519`)!;
    expect(created).toMatchObject({ signing: 'ed25519', publicKey });

    await clickButton(page, 'Open the endpoint');
    expect(await text(page)).toContain('Public key (Ed25519)');
    expect(await page.$eval('[data-public-key]', (e) => e.textContent)).toBe(publicKey);
    // The edit form has no signing choice: it is fixed at creation.
    expect(await page.$$('input[name=signing]')).toHaveLength(0);
    await clickButton(page, 'Rotate secret');
    const rotated = await page.$$eval('[data-public-key]', (all) => all.map((e) => e.textContent));
    const { publicKey: current } = await app.client(tenantKey).endpoints.get.query({ endpointId: created.id });
    expect(current).not.toBe(publicKey);
    expect(rotated).toContain(current);
    await page.close();
    // Gone again, so the tests below see the endpoints they expect.
    await app.client(tenantKey).endpoints.delete.mutate({ endpointId: created.id });
  });

  it("shows an endpoint's 24-hour success chart with a text alternative, and 'No attempts yet' for a new one", async () => {
    const endpoints = (await app.client(tenantKey).endpoints.list.query()).items;
    const byUrl = (url: string) => endpoints.find((e) => e.url === url)!;
    const page = await openPortal((await session()).token, 1280, '#/endpoints');
    const fresh = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.innerText));
    expect(fresh.find((row) => row.includes(`${ok.url}/new-hooks`))).toContain('No attempts yet');

    await go(page, `#/endpoints/${byUrl(`${failing.url}/hooks`).id}`);
    const failingAttempts = (await app.client(tenantKey).deliveries.list.query({ endpointId: byUrl(`${failing.url}/hooks`).id })).items[0]!
      .attemptCount;
    const label = (p: Page) =>
      p.evaluate(`document.getElementById(document.querySelector('svg[role=img]').getAttribute('aria-labelledby')).textContent`);
    expect(await label(page)).toContain(
      `0 of ${failingAttempts} ${failingAttempts === 1 ? 'attempt' : 'attempts'} succeeded in the last 24 h.`,
    );
    expect(await page.$$eval('rect.bar-bad', (bars) => bars.filter((bar) => Number(bar.getAttribute('height')) > 0).length)).toBe(1);
    expect(await page.$$eval('rect.bar-ok', (bars) => bars.filter((bar) => Number(bar.getAttribute('height')) > 0).length)).toBe(0);

    await go(page, `#/endpoints/${byUrl(`${ok.url}/hooks`).id}`);
    expect(await label(page)).toContain('1 of 1 attempt succeeded in the last 24 h.');
    expect(await page.$$eval('rect.bar-ok', (bars) => bars.filter((bar) => Number(bar.getAttribute('height')) > 0).length)).toBe(1);
    await screenshot(page, 'endpoint');
    await page.close();
  });

  it('manages an endpoint: disable and enable, send a test event, rotate the secret, recover, delete after confirming', async () => {
    const endpoint = (await app.client(tenantKey).endpoints.create.mutate({ url: `${ok.url}/managed`, description: 'Managed' })).endpoint;
    const page = await openPortal((await session()).token, 1280, `#/endpoints/${endpoint.id}`);
    const get = () => app.client(tenantKey).endpoints.get.query({ endpointId: endpoint.id });

    await clickButton(page, 'Disable');
    const disabled = await get();
    expect(disabled.disabled).toBe(true);
    // Why and since when, as the tenant's browser shows the time.
    const since = await page.evaluate((iso) => new Date(iso).toLocaleString(), disabled.disabledAt!);
    expect(await text(page)).toContain(`Disabled (disabled through the API) since ${since}`);
    await clickButton(page, 'Enable');
    expect((await get()).disabled).toBe(false);

    await clickButton(page, 'Send a test event');
    await ok.waitFor(1, { match: (r) => r.path === '/managed' });
    expect(await page.$eval('#status', (e) => e.textContent)).toMatch(/Test event evt_/);

    await clickButton(page, 'Rotate secret');
    expect(await page.$eval('[data-secret]', (e) => e.textContent)).toMatch(/^whsec_/);

    await clickButton(page, 'Recover');
    expect(await page.$eval('#status', (e) => e.textContent)).toMatch(/queued again/);

    await clickButton(page, 'Delete…');
    expect(await text(page)).toContain('Delete this endpoint?');
    expect((await get()).id).toBe(endpoint.id); // not yet
    await clickButton(page, 'Delete endpoint');
    await expect(get()).rejects.toThrow(/not found/i);
    await page.close();
  });

  it('lists succeeded and failed deliveries, filters by status, and shows attempts', async () => {
    const page = await openPortal((await session()).token, 1280, '#/deliveries');
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.some((row) => row.includes('succeeded'))).toBe(true);
    expect(rows.some((row) => row.includes('failed'))).toBe(true);
    await screenshot(page, 'deliveries');

    await page.select('select[name=status]', 'failed');
    await clickButton(page, 'Filter');
    const failedRows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(failedRows).toHaveLength(1);
    expect(failedRows[0]).toContain('failed');
    await page.close();
  });

  it('the delivery log names each event type, is newest first, and filters by event type and time window', async () => {
    const page = await openPortal((await session()).token, 1280, '#/deliveries');
    const headers = await page.$$eval('thead th', (ths) => ths.map((th) => th.textContent));
    expect(headers).toContain('Event type');
    const ids = await page.$$eval('tbody tr td:first-child', (tds) => tds.map((td) => td.textContent ?? ''));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect([...ids].sort().reverse()).toEqual(ids); // ids are time-ordered: newest first

    const rowsNow = () => page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    await page.select('select[name=eventType]', 'invoice.overdue');
    await clickButton(page, 'Filter');
    let rows = await rowsNow();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('invoice.overdue');
    expect(rows[0]).toContain('failed');

    await page.select('select[name=eventType]', 'invoice.paid');
    await clickButton(page, 'Filter');
    rows = await rowsNow();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('invoice.paid');
    expect(rows[0]).not.toContain('invoice.overdue');

    // A time window (local datetime fields, sent as ISO): one that holds the event, then one after it.
    const local = (ms: number) => {
      const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
      return date.toISOString().slice(0, 16);
    };
    const setField = (name: string, value: string) =>
      page.$eval(`input[name=${name}]`, (input, v) => ((input as unknown as { value: string }).value = v), value);
    await setField('since', local(Date.now() - 30 * 60_000));
    await setField('until', local(Date.now() + 30 * 60_000));
    await clickButton(page, 'Filter');
    expect(page.url()).toMatch(/since=\d{4}-\d\d-\d\dT[^&]*Z/);
    expect(await rowsNow()).toHaveLength(1);
    await setField('since', local(Date.now() + 2 * 60_000));
    await clickButton(page, 'Filter');
    expect(await text(page)).toContain('No deliveries match.');

    // Oldest first on request; the choice is kept in the address.
    await go(page, '#/deliveries?order=asc');
    const ascending = await page.$$eval('tbody tr td:first-child', (tds) => tds.map((td) => td.textContent ?? ''));
    expect([...ascending].sort()).toEqual(ascending);
    expect(await page.$eval('input[name=newestFirst]', (box) => (box as unknown as { checked: boolean }).checked)).toBe(false);
    await page.close();
  });

  it('finds events by type and time, each with its deliveries', async () => {
    const page = await openPortal((await session()).token, 1280, '#/events');
    // Both invoices (and any test event sent by an earlier test).
    expect((await page.$$('tbody tr')).length).toBeGreaterThanOrEqual(2);
    await page.select('select[name=type]', 'invoice.paid');
    await clickButton(page, 'Filter');
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('invoice.paid');
    await clickButton(page, rows[0]!.slice(0, rows[0]!.indexOf('invoice.paid')));
    const detail = await text(page);
    expect(detail).toContain('succeeded');
    expect(detail).toContain('inv_1001');
    await screenshot(page, 'event');

    // Nothing since a time after both events.
    await go(page, `#/events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(await text(page)).toContain('No events match.');
    await page.close();
  });

  it("retries a failed delivery from its page, which shows each attempt's result", async () => {
    const [failed] = (await app.client(tenantKey).deliveries.list.query({ status: 'failed' })).items;
    const page = await openPortal((await session()).token, 1280, `#/deliveries/${failed!.id}`);
    const detail = await text(page);
    expect(detail).toContain('HTTP 500');
    expect(detail).toContain('receiver is down');
    expect(detail).toContain('inv_0999');
    await screenshot(page, 'delivery');

    const before = failing.requests.length;
    await clickButton(page, 'Retry delivery');
    await failing.waitFor(before + 1);
    await waitUntil(
      async () => (await app.client(tenantKey).deliveries.get.query({ deliveryId: failed!.id })).attemptCount > failed!.attemptCount,
    );
    await page.close();
  });

  it('a read-only session shows no control that changes anything', async () => {
    const page = await openPortal((await session({ readOnly: true })).token);
    await page.waitForSelector('table');
    expect(await page.$eval('#read-only-badge', (e) => e.hasAttribute('hidden'))).toBe(false);
    expect(await text(page)).not.toContain('Add endpoint');
    const [endpoint] = (await app.client(tenantKey).endpoints.list.query()).items;
    await go(page, `#/endpoints/${endpoint!.id}`);
    expect(await page.$$('button')).toHaveLength(0);
    const [delivery] = (await app.client(tenantKey).deliveries.list.query({})).items;
    await go(page, `#/deliveries/${delivery!.id}`);
    expect(await text(page)).not.toContain('Retry');
    await page.close();
  });

  it('works at phone width without sideways scrolling', async () => {
    const page = await openPortal((await session()).token, 390);
    await page.waitForSelector('table');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'phone');
    await page.close();
  });

  it('a revoked or expired session shows "ask for a new link"', async () => {
    const revoked = await session();
    const page = await openPortal(revoked.token);
    await page.waitForSelector('table');
    await app.admin.portal.revokeSession.mutate({ sessionId: revoked.sessionId });
    await go(page, '#/deliveries');
    expect(await text(page)).toContain('Ask for a new link');
    await screenshot(page, 'expired');
    await page.close();

    const expired = await session();
    await app.deps.db.execute(sql`update portal_sessions set expires_at = now() - interval '1 second' where id = ${expired.sessionId}`);
    const late = await openPortal(expired.token);
    expect(await text(late)).toContain('Ask for a new link');
    expect(await text(late)).not.toContain(`${ok.url}/hooks`);
    await late.close();

    const none = await browser.newPage();
    none.on('request', (request) => requested.add(request.url()));
    await none.goto(`${app.url}/portal`, { waitUntil: 'networkidle0' });
    expect(await text(none)).toContain('Ask for a new link');
    await none.close();
  });
});
