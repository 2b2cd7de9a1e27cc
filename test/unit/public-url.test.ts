// HOOKLINE_PUBLIC_URL: the address the OpenAPI document names, defaulting to the listen address.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/env.js';

describe('HOOKLINE_PUBLIC_URL', () => {
  it('defaults to http://{host}:{port}, a wildcard host shown as 127.0.0.1', () => {
    expect(loadConfig({}).publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ HOOKLINE_HOST: '0.0.0.0', HOOKLINE_PORT: '8080' }).publicUrl).toBe('http://127.0.0.1:8080');
    expect(loadConfig({ HOOKLINE_HOST: '::' }).publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ HOOKLINE_HOST: '::1' }).publicUrl).toBe('http://[::1]:3000');
  });

  it('takes an http(s) URL, without its trailing slash, and refuses anything else naming the variable', () => {
    expect(loadConfig({ HOOKLINE_PUBLIC_URL: 'https://api.example.com/webhooks/' }).publicUrl).toBe('https://api.example.com/webhooks');
    expect(() => loadConfig({ HOOKLINE_PUBLIC_URL: 'ftp://example.com' })).toThrow(ConfigError);
    expect(() => loadConfig({ HOOKLINE_PUBLIC_URL: 'not a url' })).toThrow(/HOOKLINE_PUBLIC_URL/);
  });
});
