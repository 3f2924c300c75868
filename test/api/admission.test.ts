import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameRequest } from '../../src/api/admission.js';
import type { JobDocument } from '../../src/protocol/index.js';

const doc = (payload: unknown, operation = 'system.echo') => ({ operation, payload }) as unknown as JobDocument;

test('sameRequest compares operation and payload by value, whatever order the keys come back in (jsonb reorders them)', () => {
  const posted = doc({ type: 'system.echo.v1', data: { seconds: 0.5, tags: ['a', 'b'], nested: { z: 1, a: null } } });
  const fromJsonb = doc({ data: { tags: ['a', 'b'], nested: { a: null, z: 1 }, seconds: 0.5 }, type: 'system.echo.v1' });
  assert.equal(sameRequest(posted, fromJsonb), true);
  assert.equal(sameRequest(posted, doc({ type: 'system.echo.v1', data: { seconds: 0.5, tags: ['b', 'a'], nested: { z: 1, a: null } } })), false, 'array order counts');
  assert.equal(sameRequest(posted, doc({ type: 'system.echo.v1', data: { seconds: 0.5, tags: ['a', 'b'], nested: { z: 1 } } })), false, 'a missing key counts');
  assert.equal(sameRequest(posted, doc({ type: 'system.echo.v1', data: { seconds: '0.5', tags: ['a', 'b'], nested: { z: 1, a: null } } })), false, 'types count');
  assert.equal(sameRequest(posted, { ...fromJsonb, operation: 'test.echo' } as JobDocument), false, 'the operation counts');
});
