// What the API and the worker share in one process: configuration, database, secret box, logger.
import type postgres from 'postgres';
import type { Db } from '../db/client.js';
import type { ReadyConfig } from './env.js';
import type { Logger } from './logger.js';
import type { SecretBox } from './security/secret-box.js';

export interface AppDeps {
  config: ReadyConfig;
  db: Db;
  sql: postgres.Sql;
  secretBox: SecretBox;
  logger: Logger;
}
