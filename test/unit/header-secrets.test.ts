// Custom header values at rest and on display (server/endpoints/header-secrets.ts): the sealed form,
// both forms read, the mask, and masked values sent back standing for the stored ones.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../server/errors.js';
import {
  isMaskedHeaderValue,
  maskHeaderValue,
  openHeaderValues,
  sealHeaderValues,
  unmaskHeaderValues,
} from '../../server/endpoints/header-secrets.js';
import { createSecretBox } from '../../server/security/secret-box.js';

const box = createSecretBox(randomBytes(32));
const seal = (plain: string) => box.seal(plain);
const open = (sealed: string) => box.open(sealed);

describe('sealHeaderValues / openHeaderValues', () => {
  it('seals every value as § + the secret box form, names kept, and opens them back', () => {
    const headers = { authorization: 'Bearer sk_live_0123456789abcdef', 'x-team': 'video', 'x-empty': '' };
    const sealed = sealHeaderValues(headers, seal);
    expect(Object.keys(sealed)).toEqual(Object.keys(headers));
    for (const value of Object.values(sealed)) expect(value).toMatch(/^§v1\.[A-Za-z0-9_-]+$/);
    expect(JSON.stringify(sealed)).not.toContain('sk_live');
    expect(JSON.stringify(sealed)).not.toContain('video');
    expect(openHeaderValues(sealed, open)).toEqual(headers);
  });

  it('keeps sealed values as they are (sealing twice changes nothing)', () => {
    const once = sealHeaderValues({ a: 'one' }, seal);
    expect(sealHeaderValues(once, seal)).toEqual(once);
  });

  it('reads plaintext values written before sealing as they are, beside sealed ones', () => {
    const mixed = { ...sealHeaderValues({ a: 'sealed one' }, seal), b: 'legacy plaintext', c: 'v1.looks-like-a-secret-box-form' };
    expect(openHeaderValues(mixed, open)).toEqual({ a: 'sealed one', b: 'legacy plaintext', c: 'v1.looks-like-a-secret-box-form' });
  });

  it('a header named __proto__ stays an ordinary header', () => {
    const headers = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    const opened = openHeaderValues(sealHeaderValues(headers, seal), open);
    expect(Object.entries(opened)).toEqual([['__proto__', 'x']]);
  });
});

describe('maskHeaderValue', () => {
  it.each([
    ['Bearer sk_live_0123456789abcd1234', 'Bearer ••••1234'],
    ['bearer sk_live_0123456789abcd1234', 'bearer ••••1234'],
    ['Basic dXNlcjpwYXNzd29yZDEyMzQ1Njc4', 'Basic ••••Njc4'],
    ['Token 0123456789abcdefWXYZ', 'Token ••••WXYZ'],
    ['Bearer short-token', 'Bearer ••••'],
    ['tok_0123456789abcdef9876', '••••9876'],
    ['0123456789abcdef', '••••cdef'],
    ['0123456789abcde', '••••'],
    ['video', '••••'],
    ['', '••••'],
    ['Bearer ', 'Bearer ••••'],
    ['hunter2 and a long enough tail', '••••tail'],
    ['Secretword 0123456789abcdefXXXX', '••••XXXX'],
  ])('%j → %j', (value, masked) => {
    expect(maskHeaderValue(value)).toBe(masked);
    expect(isMaskedHeaderValue(maskHeaderValue(value))).toBe(true);
  });

  it('never shows more than the scheme word and the last 4 characters', () => {
    const secret = randomBytes(24).toString('base64url');
    const masked = maskHeaderValue(`Bearer ${secret}`);
    expect(masked).toBe(`Bearer ••••${secret.slice(-4)}`);
    expect(masked).not.toContain(secret.slice(0, -4).slice(-4));
  });
});

describe('unmaskHeaderValues', () => {
  const stored = { authorization: 'Bearer sk_live_0123456789abcd1234', 'x-team': 'video' };

  it('a masked value exactly as shown stands for the stored value; names match case-insensitively', () => {
    expect(unmaskHeaderValues({ Authorization: 'Bearer ••••1234', 'X-Team': 'audio' }, stored)).toEqual({
      Authorization: 'Bearer sk_live_0123456789abcd1234',
      'X-Team': 'audio',
    });
    expect(unmaskHeaderValues({ 'x-team': '••••' }, stored)).toEqual({ 'x-team': 'video' });
  });

  it.each([
    ['another mask', { authorization: 'Bearer ••••9999' }],
    ['the mask of another header', { 'x-team': 'Bearer ••••1234' }],
    ['a mask for a header not stored', { 'x-new': '••••' }],
    ['a mask for a header named __proto__', { ['__proto__']: '••••' }],
  ])('refuses %s with InvalidInputError', (_label, sent) => {
    const headers = JSON.parse(JSON.stringify(sent)) as Record<string, string>;
    expect(() => unmaskHeaderValues(headers, stored)).toThrow(InvalidInputError);
    expect(() => unmaskHeaderValues(headers, stored)).toThrow(/is masked but is not the mask of its stored value/);
  });
});
