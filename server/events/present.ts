// The API shapes of events, deliveries and attempts: explicit fields, ISO timestamps, and the
// payload as the JSON the receiver gets (parsed from the stored bytes).
import type { attempts, deliveries, events } from '../../db/schema.js';

type EventRow = typeof events.$inferSelect;
type DeliveryRow = typeof deliveries.$inferSelect;
type AttemptRow = typeof attempts.$inferSelect;

export interface Event {
  id: string;
  tenantId: string;
  type: string;
  payload: Record<string, unknown>;
  idempotencyKey: string | null;
  url: string | null;
  createdAt: string;
}

export interface Delivery {
  id: string;
  tenantId: string;
  eventId: string;
  endpointId: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  attemptCount: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Attempt {
  id: string;
  deliveryId: string;
  number: number;
  startedAt: string;
  statusCode: number | null;
  error: string | null;
  errorMessage: string | null;
  durationMs: number;
  responseBody: string | null;
}

export function presentEvent(row: EventRow): Event {
  return {
    id: row.id,
    tenantId: row.tenantId,
    type: row.type,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    idempotencyKey: row.idempotencyKey,
    url: row.url,
    createdAt: row.createdAt.toISOString(),
  };
}

export function presentDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    tenantId: row.tenantId,
    eventId: row.eventId,
    endpointId: row.endpointId,
    status: row.status,
    attemptCount: row.attemptCount,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function presentAttempt(row: AttemptRow): Attempt {
  return {
    id: row.id,
    deliveryId: row.deliveryId,
    number: row.number,
    startedAt: row.startedAt.toISOString(),
    statusCode: row.statusCode,
    error: row.error,
    errorMessage: row.errorMessage,
    durationMs: row.durationMs,
    responseBody: row.responseBody,
  };
}
