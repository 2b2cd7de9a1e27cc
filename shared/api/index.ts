// The API's output shapes, one file per resource: zod schemas the router declares as `.output(...)`
// (so REST, OpenAPI and the typed client all describe the same objects) and their types.
export * from './attempt.js';
export * from './common.js';
export * from './delivery.js';
export * from './endpoint.js';
export * from './event-type.js';
export * from './event.js';
export * from './health.js';
export * from './tenant.js';
export * from './portal.js';
