// Structured JSON logs (pino). Secrets never reach a log line: the redact list is the net for
// fields that could carry one.
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'hookline' },
    redact: {
      paths: ['secret', 'signingSecret', 'apiKey', 'adminKey', 'headers.authorization', '*.secret', '*.apiKey'],
      censor: '[redacted]',
    },
  });
}
