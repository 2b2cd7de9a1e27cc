// The five provider webhook docs hookline was born from (/work/shared/seeds), each reproduced end to
// end with the configuration docs/compat.md gives: that env, those event types, that registration;
// a delivery checked by the provider's own documented receiver code and by verifyWebhook; the number
// of attempts a receiver that keeps failing gets; the timeout; the endpoint limit. Retry delays and
// timeouts are scaled down (scaleForTest); counts and everything on the wire are the real ones.
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../client/verify.js';
import { loadConfig } from '../server/env.js';
import { parseDuration, parseDurationList } from '../shared/duration.js';
import type { SignatureScheme } from '../shared/signing.js';
import { judgeUrl } from '../shared/url-rules.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { cleanupTracker, settledDelivery } from './helpers/fixtures.js';
import type { ReceivedRequest, Receiver } from './helpers/receiver.js';

// ---------------------------------------------------------------------------------------------
// Each provider's own receiver code, as its doc writes it (typed, otherwise unchanged).

/** Adsumo, "Signature Verification" — verbatim. */
function adsumoVerifyWebhook(body: string, signature: string, secret: string): boolean {
  const expected = crypto.createHmac('sha256', secret).update(body).digest('hex');
  return crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

/** U-Gen: message = "{timestamp}.{raw_body}"; signature = HMAC-SHA256(webhook_secret, message); compare with X-UGen-Signature. */
function ugenVerify(rawBody: string, timestamp: string, signature: string, webhookSecret: string): boolean {
  const message = `${timestamp}.${rawBody}`;
  const expected = crypto.createHmac('sha256', webhookSecret).update(message).digest('hex');
  return signature.length === expected.length && crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

/** Nouvel: X-Nouvel-Signature is an HMAC-SHA256 signature of the request body. */
function nouvelVerify(body: string, signature: string, secret: string): boolean {
  const expected = crypto.createHmac('sha256', secret).update(body).digest('hex');
  return signature.length === expected.length && crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

/** JoggAI: X-Webhook-Signature, HMAC SHA-256 with the secret over the raw body, constant-time comparison. */
function joggaiVerify(rawBody: string, signature: string, secret: string): boolean {
  const expected = crypto.createHmac('sha256', secret).update(rawBody).digest('hex');
  return signature.length === expected.length && crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

/** VideoGen's `verifyWebhookSignature(rawBody, headers, signingSecret)` is Standard Webhooks: the library itself. */
function videogenVerifyWebhookSignature(rawBody: string, headers: IncomingHttpHeaders, signingSecret: string): unknown {
  return new Webhook(signingSecret).verify(rawBody, headers as Record<string, string>);
}

function header(request: ReceivedRequest, name: string): string {
  const value = request.headers[name.toLowerCase()];
  if (typeof value !== 'string') throw new Error(`missing ${name}`);
  return value;
}

function authentic(ok: boolean, body: string): unknown {
  if (!ok) throw new Error('Invalid signature');
  return JSON.parse(body);
}

// ---------------------------------------------------------------------------------------------
// The seeds: the env blocks are the ones in docs/compat.md (a test below checks they match).

interface Seed {
  /** The section heading in docs/compat.md. */
  title: string;
  env: Record<string, string>;
  eventTypes: string[];
  /** Endpoint event filter (undefined = every type); 'one-off' = no endpoint, events.send with `url`. */
  registration: string[] | undefined | 'one-off';
  /** A registered type the endpoint filter leaves out (to show the filter works). */
  unsubscribedType?: string;
  type: string;
  payload: Record<string, unknown>;
  /** Attempts a receiver that keeps failing gets: 1 + the number of retries. */
  attemptsWhenFailing: number;
  /** The provider's own receiver check: returns the parsed event, throws when not authentic. */
  ownVerify(request: ReceivedRequest, secret: string): unknown;
}

const ugen: Seed = {
  title: 'U-Gen',
  env: {
    HOOKLINE_SIGNATURE_SCHEME: 'hmac-sha256-hex-timestamped',
    HOOKLINE_HEADER_PREFIX: 'X-UGen',
    HOOKLINE_RETRY_SCHEDULE: '1s,4s,16s',
    HOOKLINE_TIMEOUT: '10s',
    HOOKLINE_MAX_ENDPOINTS_PER_TENANT: '1',
  },
  eventTypes: ['job.completed', 'job.failed'],
  registration: undefined,
  type: 'job.completed',
  payload: {
    event: 'job.completed',
    job_id: 'job_Xm2nKp7q',
    status: 'completed',
    final_video_url: 'https://storage.u-gen.ai/videos/...',
    thumbnail_url: 'https://storage.u-gen.ai/thumbnails/...',
    credits_consumed: 15,
    error_message: null,
    timestamp: '2026-04-09T14:30:00Z',
  },
  attemptsWhenFailing: 4,
  ownVerify: (r, secret) => authentic(ugenVerify(r.body, header(r, 'X-UGen-Timestamp'), header(r, 'X-UGen-Signature'), secret), r.body),
};

const videogen: Seed = {
  title: 'VideoGen',
  env: {
    HOOKLINE_SIGNATURE_SCHEME: 'standard',
    HOOKLINE_RETRY_SCHEDULE: '5s,5m,30m,2h,5h,10h,10h',
    HOOKLINE_TIMEOUT: '10s',
    HOOKLINE_MAX_ENDPOINTS_PER_TENANT: '20',
  },
  eventTypes: [
    'tool_execution.succeeded',
    'tool_execution.failed',
    'tool_execution.cancelled',
    'file.upload.completed',
    'file.upload.failed',
    'file.playback_ready',
    'file.download_ready',
    'file.analysis_completed',
    'file.analysis_failed',
  ],
  registration: ['tool_execution.succeeded', 'tool_execution.failed', 'tool_execution.cancelled'],
  unsubscribedType: 'file.upload.completed',
  type: 'tool_execution.succeeded',
  payload: {
    event: 'tool_execution.succeeded',
    toolExecutionId: 'vg_exec_...',
    toolType: 'GENERATE_IMAGE',
    occurredAt: 1745409600,
    results: [
      {
        fileId: 'vg_file_...',
        type: 'IMAGE',
        file: {
          fileId: 'vg_file_...',
          type: 'IMAGE',
          scope: 'GLOBAL',
          displayName: 'A mountain at sunrise',
          thumbnailSource: { status: 'ready', url: 'https://...', expiresAt: 1745413200 },
          previewSource: { status: 'ready', url: 'https://...', expiresAt: 1745413200 },
          downloadSource: { status: 'ready', url: 'https://...', expiresAt: 1745413200 },
        },
      },
    ],
  },
  attemptsWhenFailing: 8,
  ownVerify: (r, secret) => videogenVerifyWebhookSignature(r.body, r.headers, secret),
};

const adsumo: Seed = {
  title: 'Adsumo',
  env: {
    HOOKLINE_SIGNATURE_SCHEME: 'hmac-sha256-hex',
    HOOKLINE_HEADER_PREFIX: 'X-Adsumo',
    HOOKLINE_RETRY_SCHEDULE: '',
    HOOKLINE_TIMEOUT: '10s',
    HOOKLINE_MAX_ENDPOINTS_PER_TENANT: '1',
  },
  eventTypes: ['generation.completed', 'generation.failed'],
  registration: undefined,
  type: 'generation.completed',
  payload: {
    event: 'generation.completed',
    generation_id: '550e8400-e29b-41d4-a716-446655440000',
    type: 'ai-video',
    status: 'completed',
    result_url: 'https://cdn.adsumo.ai/...',
    created_at: '2026-01-15T12:00:00Z',
    completed_at: '2026-01-15T12:02:30Z',
  },
  attemptsWhenFailing: 1,
  ownVerify: (r, secret) => authentic(adsumoVerifyWebhook(r.body, header(r, 'x-adsumo-signature'), secret), r.body),
};

const nouvel: Seed = {
  title: 'Nouvel',
  env: {
    HOOKLINE_SIGNATURE_SCHEME: 'hmac-sha256-hex',
    HOOKLINE_HEADER_PREFIX: 'X-Nouvel',
    HOOKLINE_RETRY_SCHEDULE: '10s,60s',
    HOOKLINE_TIMEOUT: '10s',
  },
  eventTypes: ['job.completed'],
  registration: 'one-off',
  type: 'job.completed',
  // The seed names only `event` and `jobId`; the other field names are ours (the operator's choice).
  payload: {
    event: 'job.completed',
    jobId: '3f1c2a9e-8b7d-4e0f-9a61-2c5d8e7f1b30',
    status: 'partial',
    totalProjects: 3,
    completedProjects: 2,
    failedProjects: 1,
    projects: [
      { projectId: 'prj_1', status: 'completed', videoUrl: 'https://cdn.nouvel.example/prj_1.mp4' },
      { projectId: 'prj_2', status: 'completed', videoUrl: 'https://cdn.nouvel.example/prj_2.mp4' },
      { projectId: 'prj_3', status: 'failed', error: 'render failed' },
    ],
  },
  attemptsWhenFailing: 3,
  ownVerify: (r, secret) => authentic(nouvelVerify(r.body, header(r, 'X-Nouvel-Signature'), secret), r.body),
};

const joggaiEvents = ['video', 'avatar_video', 'product_video', 'template_video', 'translate_video']
  .flatMap((kind) => [`generated_${kind}_success`, `generated_${kind}_failed`])
  .concat(['create_avatar_success', 'create_avatar_failed'])
  .concat(
    ['photo_avatar', 'product_avatar', 'script', 'image', 'motion'].flatMap((kind) => [
      `generated_${kind}_success`,
      `generated_${kind}_failed`,
    ]),
  );

const joggai: Seed = {
  title: 'JoggAI',
  env: {
    HOOKLINE_SIGNATURE_SCHEME: 'hmac-sha256-hex',
    HOOKLINE_HEADER_PREFIX: 'X-Webhook',
    HOOKLINE_RETRY_SCHEDULE: '5s,5m,30m,2h,5h,10h,10h',
    HOOKLINE_TIMEOUT: '5s',
    HOOKLINE_MAX_ENDPOINTS_PER_TENANT: '20',
  },
  eventTypes: joggaiEvents,
  registration: ['generated_video_success', 'generated_video_failed'],
  unsubscribedType: 'create_avatar_success',
  type: 'generated_video_success',
  // The seed lists payload headings without their bodies; these field names are ours.
  payload: {
    event: 'generated_video_success',
    data: { video_id: 'vid_8f3k2m', video_url: 'https://cdn.jogg.example/vid_8f3k2m.mp4', duration: 30 },
  },
  attemptsWhenFailing: 8,
  ownVerify: (r, secret) => authentic(joggaiVerify(r.body, header(r, 'X-Webhook-Signature'), secret), r.body),
};

const seeds = [ugen, videogen, adsumo, nouvel, joggai];

/**
 * The seed's env with times scaled down for the test: each retry delay ÷100 (10 ms at least,
 * 200 ms at most: the NUMBER of retries is kept), the timeout ÷20 (10 s → 500 ms, 5 s → 250 ms).
 */
function scaleForTest(env: Record<string, string>): { env: Record<string, string>; scheduleMs: number[]; timeoutMs: number } {
  const scheduleMs = parseDurationList(env.HOOKLINE_RETRY_SCHEDULE ?? '').map((ms) => Math.min(Math.max(Math.round(ms / 100), 10), 200));
  const timeoutMs = Math.round(parseDuration(env.HOOKLINE_TIMEOUT ?? '10s') / 20);
  return {
    env: { ...env, HOOKLINE_RETRY_SCHEDULE: scheduleMs.map((ms) => `${ms}ms`).join(','), HOOKLINE_TIMEOUT: `${timeoutMs}ms` },
    scheduleMs,
    timeoutMs,
  };
}

function schemeOf(seed: Seed): { scheme: SignatureScheme; headerPrefix: string; attemptHeader: string } {
  const scheme = (seed.env.HOOKLINE_SIGNATURE_SCHEME ?? 'standard') as SignatureScheme;
  const headerPrefix = seed.env.HOOKLINE_HEADER_PREFIX ?? 'X-Webhook';
  return { scheme, headerPrefix, attemptHeader: scheme === 'standard' ? 'webhook-attempt' : `${headerPrefix}-Attempt`.toLowerCase() };
}

// ---------------------------------------------------------------------------------------------

describe('the documented configurations', () => {
  it('docs/compat.md gives exactly these env blocks, and each parses to the seed contract', () => {
    const doc = readFileSync(new URL('../docs/compat.md', import.meta.url), 'utf8');
    const sections = doc.split(/^## /m);
    for (const seed of seeds) {
      const section = sections.find((s) => s.startsWith(`${seed.title}\n`) || s.startsWith(`${seed.title} `));
      expect(section, `docs/compat.md has a "## ${seed.title}" section`).toBeDefined();
      const block = /```sh\n([\s\S]*?)```/.exec(section!)?.[1] ?? '';
      const env = Object.fromEntries(
        block
          .split('\n')
          .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => [m[1], m[2]]),
      );
      expect(env, seed.title).toEqual(seed.env);

      const config = loadConfig(seed.env);
      expect(config.retryScheduleMs.length + 1, `${seed.title} attempts`).toBe(seed.attemptsWhenFailing);
    }
    expect(loadConfig(ugen.env).retryScheduleMs).toEqual([1_000, 4_000, 16_000]);
    expect(loadConfig(nouvel.env).retryScheduleMs).toEqual([10_000, 60_000]);
    expect(loadConfig(adsumo.env).retryScheduleMs).toEqual([]);
    expect(loadConfig(joggai.env)).toMatchObject({ timeoutMs: 5_000, maxEndpointsPerTenant: 20, headerPrefix: 'X-Webhook' });
  });

  it("Nouvel's URL requirements are hookline's defaults: https only, no localhost, no private addresses", () => {
    const policy = loadConfig(nouvel.env).urlPolicy;
    expect(judgeUrl('https://hooks.customer.example/nouvel', policy).ok).toBe(true);
    for (const url of [
      'http://hooks.customer.example/nouvel',
      'https://localhost/',
      'https://127.0.0.1/',
      'https://0.0.0.0/',
      'https://[::1]/',
      'https://10.1.2.3/',
      'https://192.168.1.10/',
      'https://172.16.0.1/',
      'https://172.31.255.254/',
    ]) {
      expect(judgeUrl(url, policy).ok, url).toBe(false);
    }
  });
});

for (const seed of seeds) {
  describe(`${seed.title} reproduced`, () => {
    const scaled = scaleForTest(seed.env);
    const { scheme, headerPrefix, attemptHeader } = schemeOf(seed);
    let app: TestApp;
    const cleanup = cleanupTracker();
    const receiver = cleanup.receiver;

    beforeAll(async () => {
      app = await startTestApp({ env: scaled.env, worker: true });
      for (const name of seed.eventTypes) await app.admin.eventTypes.upsert.mutate({ name });
    });
    afterEach(() => cleanup.runAll());
    afterAll(() => app.close());

    /** Registers as the seed's customers do and returns how to send an event and which secret signs it. */
    async function register(r: Receiver) {
      const { tenant, apiKey, signingSecret } = await app.admin.tenants.create.mutate({ name: `${seed.title} customer` });
      let secret = signingSecret;
      let url: string | undefined = `${r.url}/${seed.title.toLowerCase()}-job-webhook`;
      let endpointId: string | undefined;
      if (seed.registration !== 'one-off') {
        const created = await app.client(apiKey).endpoints.create.mutate({
          url: `${r.url}/webhooks/${seed.title.toLowerCase()}`,
          ...(seed.registration && { eventTypes: seed.registration }),
        });
        secret = created.secret;
        endpointId = created.endpoint.id;
        url = undefined;
      }
      const send = (type = seed.type) =>
        app.admin.events.send.mutate({ tenantId: tenant.id, type, payload: seed.payload, ...(url && { url }) });
      return { tenantId: tenant.id, apiKey, endpointId, secret, send };
    }

    const settled = (deliveryId: string) => settledDelivery(app, deliveryId);

    async function attemptsOf(deliveryId: string) {
      return app.deps.sql<{ number: number; status_code: number | null; error: string | null; duration_ms: number }[]>`
        select number, status_code, error, duration_ms from attempts where delivery_id = ${deliveryId} order by number`;
    }

    function verifyWithClient(request: ReceivedRequest, secret: string): unknown {
      return verifyWebhook({ body: request.body, headers: request.headers, secret, scheme, headerPrefix });
    }

    it(`delivers ${seed.type} that ${seed.title}'s own receiver code and verifyWebhook both accept`, async () => {
      const r = await receiver();
      const { secret, send } = await register(r);
      if (seed.unsubscribedType) {
        // Outside the endpoint's event filter: nothing is delivered.
        expect((await send(seed.unsubscribedType)).deliveries).toHaveLength(0);
      }
      const sent = await send();
      expect(sent.deliveries).toHaveLength(1);
      const [request] = await r.waitFor(1);

      expect(request!.method).toBe('POST');
      expect(request!.headers['content-type']).toBe('application/json');
      // The payload bytes as given (serialized once), nothing added.
      expect(request!.body).toBe(JSON.stringify(seed.payload));
      expect(request!.headers[attemptHeader]).toBe('1');
      expect(seed.ownVerify(request!, secret)).toEqual(seed.payload);
      expect(verifyWithClient(request!, secret)).toEqual(seed.payload);

      // A tampered body or a wrong secret fails both.
      const tampered = { ...request!, body: request!.body.replace('"event"', '"Event"') };
      expect(() => seed.ownVerify(tampered, secret)).toThrow();
      expect(() => verifyWithClient(tampered, secret)).toThrow();
      expect(() => seed.ownVerify(request!, `whsec_${crypto.randomBytes(32).toString('base64')}`)).toThrow();

      expect((await settled(sent.deliveries[0]!.id)).status).toBe('succeeded');
    });

    it(`a receiver that keeps failing gets ${seed.attemptsWhenFailing} attempt(s), each verifiable`, async () => {
      const r = await receiver(() => ({ status: 500, body: 'down' }));
      const { secret, send } = await register(r);
      const sent = await send();
      const row = await settled(sent.deliveries[0]!.id);
      expect(row).toMatchObject({ status: 'failed', attemptCount: seed.attemptsWhenFailing });
      expect(r.requests).toHaveLength(seed.attemptsWhenFailing);
      expect(r.requests.map((q) => q.headers[attemptHeader])).toEqual(
        Array.from({ length: seed.attemptsWhenFailing }, (_, i) => String(i + 1)),
      );
      for (const request of r.requests) {
        expect(request.body).toBe(r.requests[0]!.body);
        expect(seed.ownVerify(request, secret)).toEqual(seed.payload);
        expect(verifyWithClient(request, secret)).toEqual(seed.payload);
      }
      // Retries follow the (scaled) schedule: never earlier than the delay less its 20 % jitter.
      for (let i = 1; i < r.requests.length; i++) {
        const gap = r.requests[i]!.receivedAt - r.requests[i - 1]!.receivedAt;
        expect(gap).toBeGreaterThanOrEqual(Math.floor(scaled.scheduleMs[i - 1]! * 0.8));
      }
    });

    it(`a receiver slower than the timeout (${seed.env.HOOKLINE_TIMEOUT}, scaled to ${scaled.timeoutMs} ms) is a failed attempt`, async () => {
      const slowMs = scaled.timeoutMs * 4;
      const r = await receiver((_request, i) => (i === 0 ? { delayMs: slowMs } : { status: 200 }));
      const { send } = await register(r);
      const sent = await send();
      const row = await settled(sent.deliveries[0]!.id);
      const attempts = await attemptsOf(sent.deliveries[0]!.id);
      expect(attempts[0]).toMatchObject({ number: 1, status_code: null, error: 'timeout' });
      expect(attempts[0]!.duration_ms).toBeGreaterThanOrEqual(scaled.timeoutMs - 5);
      expect(attempts[0]!.duration_ms).toBeLessThan(slowMs);
      if (seed.attemptsWhenFailing === 1) {
        // Sent once: a late answer means the webhook is dropped.
        expect(row).toMatchObject({ status: 'failed', attemptCount: 1 });
        expect(r.requests).toHaveLength(1);
      } else {
        expect(row.status).toBe('succeeded');
        expect(attempts.at(-1)).toMatchObject({ status_code: 200 });
      }
    });

    if (seed.registration !== 'one-off') {
      const max = Number(seed.env.HOOKLINE_MAX_ENDPOINTS_PER_TENANT ?? 20);
      it(`a tenant may register ${max} endpoint(s), not ${max + 1}`, async () => {
        const { apiKey } = await app.admin.tenants.create.mutate({ name: `${seed.title} limits` });
        const client = app.client(apiKey);
        for (let i = 0; i < max; i++) await client.endpoints.create.mutate({ url: `https://hooks.customer.example/${i}` });
        await expect(client.endpoints.create.mutate({ url: 'https://hooks.customer.example/one-more' })).rejects.toMatchObject({
          data: { code: 'FORBIDDEN' },
          message: expect.stringContaining('HOOKLINE_MAX_ENDPOINTS_PER_TENANT'),
        });
      });
    }

    if (seed === adsumo) {
      it("during a secret rotation the header holds two signatures: the seed's whole-header compare fails, splitting on spaces works", async () => {
        const r = await receiver();
        const { apiKey, endpointId, secret: oldSecret, send } = await register(r);
        const { secret: newSecret } = await app.client(apiKey).endpoints.rotateSecret.mutate({ endpointId: endpointId! });
        await send();
        const [request] = await r.waitFor(1);
        const signatureHeader = header(request!, 'x-adsumo-signature');
        expect(signatureHeader.split(' ')).toHaveLength(2);
        // Adsumo's verifyWebhook compares the whole header: timingSafeEqual throws on the length mismatch.
        expect(() => adsumoVerifyWebhook(request!.body, signatureHeader, newSecret)).toThrow(RangeError);
        // Split on spaces and accept any match: both the old and the new secret verify.
        for (const secret of [oldSecret, newSecret]) {
          expect(signatureHeader.split(' ').some((signature) => adsumoVerifyWebhook(request!.body, signature, secret))).toBe(true);
          expect(verifyWithClient(request!, secret)).toEqual(seed.payload);
        }
      });
    }
  });
}
