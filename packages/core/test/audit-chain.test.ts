import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AuditChainVerifier,
  GENESIS_HASH,
  MASK,
  auditHash,
  canonicalJson,
  maskSecrets,
  sealAuditRecord,
  type AuditFields,
  type AuditRecord,
} from '@mldeploy/core';

const fields = (id: number, extra: Partial<AuditFields> = {}): AuditFields => ({
  id,
  at: `2026-01-01T00:00:0${id}.000Z`,
  actor: 'alice',
  target: 'sagemaker:/us-east-1',
  action: 'update',
  subject: 'iris',
  detail: '{}',
  before: { revision: id - 1 },
  after: { revision: id },
  result: 'ok',
  ...extra,
});

/** A chain of `n` entries, ids 1…n. */
function chain(n: number): AuditRecord[] {
  const entries: AuditRecord[] = [];
  for (let id = 1; id <= n; id++) entries.push(sealAuditRecord(entries.at(-1)?.hash ?? GENESIS_HASH, fields(id)));
  return entries;
}

function verify(entries: readonly AuditRecord[]) {
  const verifier = new AuditChainVerifier();
  for (const entry of entries) verifier.add(entry);
  return verifier.result();
}

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined members, writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true }, u: undefined })).toBe('{"a":{"c":true,"d":[1,"x",null]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson([undefined])).toBe('[null]');
    expect(canonicalJson('é"\n')).toBe(JSON.stringify('é"\n'));
    expect(canonicalJson(new Date('2026-01-01T00:00:00Z'))).toBe('"2026-01-01T00:00:00.000Z"');
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});

describe('the hash chain', () => {
  it('hash = sha256(prev_hash + canonical JSON of the other fields); the first links to 64 zeros', () => {
    const [first] = chain(1);
    expect(first!.prev_hash).toBe(GENESIS_HASH);
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalJson(fields(1)))
      .digest('hex');
    expect(first!.hash).toBe(expected);
    // Extra members an entry may carry are not hashed; field order does not matter.
    expect(auditHash(GENESIS_HASH, { ...fields(1), extra: 'x' } as AuditFields)).toBe(expected);
  });

  it('an intact chain verifies, naming its size and last hash', () => {
    const entries = chain(5);
    expect(verify(entries)).toEqual({ intact: true, entries: 5, last_id: 5, last_hash: entries[4]!.hash });
    expect(verify([])).toEqual({ intact: true, entries: 0, last_id: null, last_hash: null });
  });

  it('an edited entry is named', () => {
    const entries = chain(5);
    entries[2] = { ...entries[2]!, detail: 'changed' };
    expect(verify(entries).problem).toMatchObject({ id: 3, kind: 'edited' });
  });

  it('an edited entry whose hash was recomputed breaks the link of the next', () => {
    const entries = chain(5);
    entries[2] = sealAuditRecord(entries[2]!.prev_hash, { ...entries[2]!, result: 'ok (really)' });
    expect(verify(entries).problem).toMatchObject({ id: 4, kind: 'unlinked' });
  });

  it.each([
    ['the first', 0, 1],
    ['one in the middle', 2, 3],
  ])('%s removed is named by its id', (_what, index, id) => {
    const entries = chain(5);
    entries.splice(index, 1);
    const result = verify(entries);
    expect(result).toMatchObject({ intact: false, entries: 4, problem: { id, kind: 'removed' } });
  });

  it('two entries swapped are re-ordered, not removed', () => {
    const entries = chain(5);
    [entries[1], entries[2]] = [entries[2]!, entries[1]!];
    expect(verify(entries).problem).toMatchObject({ id: 2, kind: 'reordered' });
    const repeated = chain(3);
    expect(verify([...repeated, repeated[1]!]).problem).toMatchObject({ id: 2, kind: 'reordered' });
  });

  it('a line that is not an entry is malformed, at the id expected there', () => {
    const verifier = new AuditChainVerifier();
    const [first] = chain(1);
    verifier.add(first!);
    verifier.malformed('Line 2 is not JSON');
    expect(verifier.result()).toMatchObject({ intact: false, entries: 2, problem: { id: 2, kind: 'malformed' } });
  });
});

describe('maskSecrets', () => {
  it('masks values under secret-looking keys at any depth, and URL passwords and secret query parameters', () => {
    expect(
      maskSecrets({
        replicas: 2,
        token: 'abc',
        nested: { API_KEY: 'k', Password: 'p', client_secret: 's', list: [{ secretName: 'x' }], keep: 'v' },
        uri: 'https://user:pw@host/m.tar.gz?X-Amz-Security-Token=t&version=3',
        empty: { token: null },
      }),
    ).toEqual({
      replicas: 2,
      token: MASK,
      nested: { API_KEY: MASK, Password: MASK, client_secret: MASK, list: [{ secretName: MASK }], keep: 'v' },
      uri: `https://user:${MASK}@host/m.tar.gz?X-Amz-Security-Token=${encodeURIComponent(MASK)}&version=3`,
      empty: { token: null },
    });
    expect(maskSecrets('models:/iris@champion')).toBe('models:/iris@champion');
    // A traffic split names deployments, whatever they are called.
    expect(maskSecrets({ config: { traffic: { monkey: 90, 'api-key-model': 10 } } })).toEqual({
      config: { traffic: { monkey: 90, 'api-key-model': 10 } },
    });
  });
});
