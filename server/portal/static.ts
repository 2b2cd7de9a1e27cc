// The tenant portal's page at /portal: a few static files from the project's portal/ folder, and
// /portal/session, which tells the page about the session its token opens (tenant, read-only,
// expiry, theme). Every file is same-origin and the CSP allows nothing from any other host;
// `frame-ancestors` comes from HOOKLINE_PORTAL_FRAME_ANCESTORS, so an operator can embed it.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { tenants } from '../../db/schema.js';
import { findTenant } from '../../db/sql/tenants.js';
import type { AppDeps } from '../deps.js';
import type { AuthFailureThrottle } from '../security/auth-failures.js';
import { lookUpPortalSession } from './sessions.js';

export const PORTAL_PATH = '/portal';

const appDirectory = new URL('../../portal/', import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  [PORTAL_PATH]: { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${PORTAL_PATH}/`]: { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${PORTAL_PATH}/app.js`]: { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  [`${PORTAL_PATH}/app.css`]: { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export function isPortalPath(path: string): boolean {
  return path === PORTAL_PATH || path.startsWith(`${PORTAL_PATH}/`);
}

export function contentSecurityPolicy(frameAncestors: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/**
 * The handler of every path under /portal. Files are read once, at the first request. A token that
 * is no session of ours is a failed authentication, throttled like one at the API.
 */
export function createPortalHandler(
  deps: Pick<AppDeps, 'db' | 'config'>,
  authFailures?: AuthFailureThrottle,
): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const cache = new Map<string, Buffer>();
  const securityHeaders = {
    'content-security-policy': contentSecurityPolicy(deps.config.portal.frameAncestors),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  return async (req, res, path) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'method not allowed' }));
      return;
    }
    if (path === `${PORTAL_PATH}/session`) {
      await answerSession(deps, req, res, securityHeaders, authFailures);
      return;
    }
    const entry = FILES[path];
    if (!entry) {
      res.writeHead(404, { 'content-type': 'application/json', ...securityHeaders });
      res.end(JSON.stringify({ error: 'not found' }));
      return;
    }
    let body = cache.get(entry.file);
    if (!body) {
      body = readFileSync(fileURLToPath(new URL(entry.file, appDirectory)));
      cache.set(entry.file, body);
    }
    res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-cache', ...securityHeaders });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

/** What the page shows before its first API call: whose portal, how it looks, whether it may change anything. */
async function answerSession(
  deps: Pick<AppDeps, 'db' | 'config'>,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string>,
  authFailures: AuthFailureThrottle | undefined,
): Promise<void> {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  const theme = { productName: deps.config.portal.productName, accentColor: deps.config.portal.accentColor };
  const send = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  const found = token ? await lookUpPortalSession(deps, token) : undefined;
  if (token && found?.status !== 'active' && found?.status !== 'ended') {
    await authFailures?.failed(req.socket.remoteAddress, { reason: 'unknown key' }, `${PORTAL_PATH}/session`);
  }
  if (found?.status !== 'active') {
    // The default theme still applies to the "ask for a new link" page.
    send(401, { error: 'this portal session has expired or was revoked; ask for a new link', theme });
    return;
  }
  const { session } = found;
  const tenant = await findTenant(deps.db, session.tenantId, { id: tenants.id, name: tenants.name });
  send(200, {
    tenant: tenant ?? { id: session.tenantId, name: '' },
    readOnly: session.readOnly,
    expiresAt: session.expiresAt.toISOString(),
    theme: { ...theme, ...session.theme },
    // The endpoint form offers Ed25519 only where endpoints.create accepts it.
    signings: deps.config.signatureScheme === 'standard' ? ['hmac', 'ed25519'] : ['hmac'],
  });
}
