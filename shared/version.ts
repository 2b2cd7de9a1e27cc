// hookline's version, read from package.json in this one place: the CLI's --version, the `health`
// answer, the REST document and the user-agent of every delivery all say the same.
import { createRequire } from 'node:module';

export const hooklineVersion: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
