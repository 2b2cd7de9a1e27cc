// The portal's configuration: who may frame it (the CSP's frame-ancestors) and its default theme.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/env.js';
import { contentSecurityPolicy } from '../../server/portal/static.js';

describe('portal configuration', () => {
  it("defaults to frame-ancestors 'self' and a neutral theme", () => {
    expect(loadConfig({}).portal).toEqual({ frameAncestors: "'self'", productName: 'Webhooks', accentColor: '#2563eb' });
  });

  it('takes frame-ancestors, product name and accent colour from the environment', () => {
    const config = loadConfig({
      HOOKLINE_PORTAL_FRAME_ANCESTORS: "'self' https://app.example.com",
      HOOKLINE_PORTAL_PRODUCT_NAME: 'Acme Webhooks',
      HOOKLINE_PORTAL_ACCENT_COLOR: '#6d28d9',
    });
    expect(config.portal).toEqual({
      frameAncestors: "'self' https://app.example.com",
      productName: 'Acme Webhooks',
      accentColor: '#6d28d9',
    });
    const csp = contentSecurityPolicy(config.portal.frameAncestors);
    expect(csp).toContain("frame-ancestors 'self' https://app.example.com");
    expect(csp).toContain("default-src 'none'");
  });

  it('refuses a frame-ancestors value that would add a directive, and a colour that is not #rrggbb, naming the variable', () => {
    expect(() => loadConfig({ HOOKLINE_PORTAL_FRAME_ANCESTORS: "'self'; script-src *" })).toThrow(/HOOKLINE_PORTAL_FRAME_ANCESTORS/);
    expect(() => loadConfig({ HOOKLINE_PORTAL_ACCENT_COLOR: 'red' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOOKLINE_PORTAL_ACCENT_COLOR: 'red' })).toThrow(/HOOKLINE_PORTAL_ACCENT_COLOR/);
  });
});
