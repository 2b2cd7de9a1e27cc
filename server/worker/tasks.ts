// The graphile-worker task list of hookline.
import type { TaskList } from 'graphile-worker';
import type { AppDeps } from '../deps.js';

export function deliveryTasks(_deps: AppDeps): TaskList {
  return {};
}
