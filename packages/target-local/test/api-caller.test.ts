import { describe, expect, it } from 'vitest';
import { callerOf } from '../src/server/api-caller.js';

/** Who the audit log says made a request: the name the client gives, never one the control plane uses for itself. */
describe('the caller of an API request', () => {
  it('is the URI-encoded name the client sends, else the token it called with (hashed), else anonymous', () => {
    expect(callerOf({ 'x-mldeploy-actor': encodeURIComponent('alice smith') })).toBe('alice smith');
    expect(callerOf({ authorization: 'Bearer s3cret' })).toMatch(/^token:[0-9a-f]{8}$/);
    expect(callerOf({ authorization: 'Bearer s3cret' })).not.toContain('s3cret');
    expect(callerOf({})).toBe('anonymous');
  });

  it('cannot claim the names of the control plane or a rollout', () => {
    expect(callerOf({ 'x-mldeploy-actor': 'control-plane' })).toBe('user:control-plane');
    expect(callerOf({ 'x-mldeploy-actor': 'rollout:ro-0123456789' })).toBe('user:rollout:ro-0123456789');
    expect(callerOf({ 'x-mldeploy-actor': 'token:deadbeef' })).toBe('user:token:deadbeef');
  });

  it('refuses a name with control characters or too long', () => {
    expect(() => callerOf({ 'x-mldeploy-actor': encodeURIComponent('a\nb') })).toThrow(/x-mldeploy-actor must be/);
    expect(() => callerOf({ 'x-mldeploy-actor': 'x'.repeat(500) })).toThrow(/x-mldeploy-actor must be/);
  });
});
