// The browsable API reference at /docs: Swagger UI reading /api/v1/openapi.json, served from the
// `swagger-ui-dist` package installed with hookline, so it works on a deployment with no internet
// access. The page's Content-Security-Policy allows nothing from another host.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OPENAPI_DOCUMENT_PATH } from './rest.js';

export const API_REFERENCE_PATH = '/docs';

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes from its scripts.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

const PAGE_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>hookline API reference</title>
    <link rel="stylesheet" href="${API_REFERENCE_PATH}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${API_REFERENCE_PATH}/favicon-32x32.png">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${API_REFERENCE_PATH}/swagger-ui-bundle.js"></script>
    <script src="${API_REFERENCE_PATH}/init.js"></script>
  </body>
</html>
`;

// In a file of its own: the policy forbids inline scripts.
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(OPENAPI_DOCUMENT_PATH)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    // No call to the public validator service: nothing leaves the deployment.
    validatorUrl: null,
  });
});
`;

const swaggerUiDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Files of the swagger-ui-dist package, read once on first request. */
function packageFile(name: string): () => Buffer {
  let content: Buffer | undefined;
  return () => (content ??= readFileSync(join(swaggerUiDir, name)));
}

function serve(type: string, content: () => Buffer | string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const body = content();
    res.writeHead(200, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

/** The GET routes of the reference: the page and its assets. */
export function apiReferenceRoutes(): Record<string, (req: IncomingMessage, res: ServerResponse) => void> {
  return {
    [API_REFERENCE_PATH]: serve('text/html; charset=utf-8', () => PAGE_HTML),
    [`${API_REFERENCE_PATH}/init.js`]: serve('text/javascript; charset=utf-8', () => INIT_SCRIPT),
    [`${API_REFERENCE_PATH}/swagger-ui-bundle.js`]: serve('text/javascript; charset=utf-8', packageFile('swagger-ui-bundle.js')),
    [`${API_REFERENCE_PATH}/swagger-ui.css`]: serve('text/css; charset=utf-8', packageFile('swagger-ui.css')),
    [`${API_REFERENCE_PATH}/favicon-32x32.png`]: serve('image/png', packageFile('favicon-32x32.png')),
  };
}
