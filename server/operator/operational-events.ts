// Operational events to the operator (HOOKLINE_OPERATOR_WEBHOOK_URL): what a process needs to
// write them (the operator's tenant row, fresh ids) and to deliver them (an HTTP client to which the
// private-address rule does not apply: the operator's URL is the operator's own configuration and
// often internal). The statements are in db/sql/operational-events.ts.
import { ensureOperatorTenant, OPERATOR_TENANT_ID, type OperationalTarget } from '../../db/sql/operational-events.js';
import type { AttemptWrite } from '../../db/sql/record-attempts.js';
import { newId } from '../../shared/ids.js';
import { parseAllowedNetworks, type UrlPolicy } from '../../shared/url-rules.js';
import type { AppDeps } from '../deps.js';

export { OPERATOR_TENANT_ID };

export interface OperatorTenant {
  url: string;
  /** Resolves once this process has written the operator's tenant row (once; again after a failure). */
  ready(): Promise<void>;
}

/** Undefined when no operator webhook is configured. */
export function createOperatorTenant(deps: Pick<AppDeps, 'config' | 'sql' | 'secretBox'>): OperatorTenant | undefined {
  const webhook = deps.config.operatorWebhook;
  if (!webhook) return undefined;
  let written: Promise<void> | undefined;
  return {
    url: webhook.url,
    ready() {
      written ??= ensureOperatorTenant(deps.sql, deps.secretBox.seal(webhook.secret)).catch((error: unknown) => {
        written = undefined;
        throw error;
      });
      return written;
    },
  };
}

/** Ids enough for every operational event a record statement over these attempts can write. */
export async function operationalTarget(operator: OperatorTenant, writes: readonly AttemptWrite[]): Promise<OperationalTarget> {
  await operator.ready();
  const exhausted = writes.filter((w) => w.delivery.status === 'failed' && w.sent !== null).length;
  const disabled = new Set(writes.flatMap((w) => (w.endpointId && w.health !== 'none' ? [w.endpointId] : []))).size;
  const count = exhausted + disabled;
  return {
    url: operator.url,
    eventIds: Array.from({ length: count }, () => newId('event')),
    deliveryIds: Array.from({ length: count }, () => newId('delivery')),
  };
}

/** The operator's deliveries: the deployment's scheme rule, and every address. */
export function operatorUrlPolicy(policy: UrlPolicy): UrlPolicy {
  return { allowHttp: policy.allowHttp, allowedNetworks: parseAllowedNetworks('0.0.0.0/0,::/0') };
}
