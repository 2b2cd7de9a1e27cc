// Portal sessions: created by the admin (for a tenant) or by a tenant key (for itself), revoked
// by either, and resolved from a bearer token on every request (server/context.ts).
import { and, eq } from 'drizzle-orm';
import { portalSessions } from '../../db/schema.js';
import { newId } from '../../shared/ids.js';
import type { AppDeps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { keyMatchesHash } from '../security/api-keys.js';
import { issueSessionToken, sessionTokenPrefix } from './tokens.js';

export interface PortalTheme {
  productName?: string | undefined;
  accentColor?: string | undefined;
}

export interface CreatedPortalSession {
  sessionId: string;
  url: string;
  token: string;
  expiresAt: string;
}

export async function createPortalSession(
  deps: Pick<AppDeps, 'db' | 'config'>,
  tenantId: string,
  input: { readOnly: boolean; expiresInSeconds: number; theme?: PortalTheme | undefined },
): Promise<CreatedPortalSession> {
  const issued = issueSessionToken();
  const sessionId = newId('portalSession');
  const expiresAt = new Date(Date.now() + input.expiresInSeconds * 1000);
  const theme: { productName?: string; accentColor?: string } = {};
  if (input.theme?.productName !== undefined) theme.productName = input.theme.productName;
  if (input.theme?.accentColor !== undefined) theme.accentColor = input.theme.accentColor;
  await deps.db.insert(portalSessions).values({
    id: sessionId,
    tenantId,
    tokenPrefix: issued.prefix,
    tokenHash: issued.hash,
    readOnly: input.readOnly,
    theme,
    expiresAt,
  });
  // The token rides in the URL's fragment: a browser never sends it to any server's log.
  const url = `${deps.config.publicUrl}/portal#token=${issued.token}`;
  return { sessionId, url, token: issued.token, expiresAt: expiresAt.toISOString() };
}

/** Ends a session at once. `tenantId` (a tenant key's caller) confines it to that tenant's sessions. */
export async function revokePortalSession(deps: Pick<AppDeps, 'db'>, sessionId: string, tenantId: string | undefined): Promise<void> {
  const conditions = [eq(portalSessions.id, sessionId)];
  if (tenantId !== undefined) conditions.push(eq(portalSessions.tenantId, tenantId));
  const [row] = await deps.db
    .update(portalSessions)
    .set({ revokedAt: new Date() })
    .where(and(...conditions))
    .returning({ id: portalSessions.id });
  if (!row) throw new NotFoundError('portal session not found');
}

export interface ActivePortalSession {
  sessionId: string;
  tenantId: string;
  readOnly: boolean;
  theme: PortalTheme;
  expiresAt: Date;
}

export type PortalSessionLookup =
  | { status: 'active'; session: ActivePortalSession }
  | { status: 'ended'; tenantId: string }
  | { status: 'unknown' }
  | { status: 'not-a-session-token' };

/** The session a presented token opens: active, ended (expired or revoked), or none. */
export async function lookUpPortalSession(deps: Pick<AppDeps, 'db'>, token: string, now = new Date()): Promise<PortalSessionLookup> {
  const prefix = sessionTokenPrefix(token);
  if (!prefix) return { status: 'not-a-session-token' };
  const [row] = await deps.db.select().from(portalSessions).where(eq(portalSessions.tokenPrefix, prefix));
  if (!row || !keyMatchesHash(token, row.tokenHash)) return { status: 'unknown' };
  if (row.revokedAt !== null || row.expiresAt.getTime() <= now.getTime()) return { status: 'ended', tenantId: row.tenantId };
  return {
    status: 'active',
    session: { sessionId: row.id, tenantId: row.tenantId, readOnly: row.readOnly, theme: row.theme, expiresAt: row.expiresAt },
  };
}
