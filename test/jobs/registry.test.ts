import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinRegistry, HandlerRegistry, testHandlersEnabled } from '../../src/jobs/registry.js';
import { echoHandler } from '../../src/jobs/handlers/echo.js';

test('registry: capabilities are derived from what is registered; test handlers only when enabled', () => {
  const prod = builtinRegistry();
  const caps = prod.capabilities();
  assert.ok(caps.operations.includes('system.echo') && caps.operations.includes('test.echo') && caps.operations.includes('guestkit.inspect'));
  assert.ok(!caps.operations.some((o) => o.startsWith('test.') && o !== 'test.echo'));
  assert.ok(caps.disk_formats.includes('qcow2') && caps.disk_formats.includes('raw'));
  assert.deepEqual(caps.features, caps.filesystems);
  const withTests = builtinRegistry({ testHandlers: true }).capabilities();
  for (const op of ['test.sleep', 'test.spin', 'test.flaky', 'test.alloc', 'test.image']) assert.ok(withTests.operations.includes(op), op);
  assert.equal(testHandlersEnabled({ GUESTKIT_TEST_HANDLERS: '1' }), true);
  assert.equal(testHandlersEnabled({}), false);
  assert.throws(() => new HandlerRegistry().register(echoHandler).register(echoHandler), /registered twice/);
});

test('echo handler returns the payload as echo', async () => {
  const events: string[] = [];
  const prepared = echoHandler.prepare({ a: [1, { b: null }] });
  assert.ok(prepared.ok);
  const out = await prepared.job.run({ job: {} as never, attempt: 1, workerId: 'w', signal: new AbortController().signal, resolvedImages: [], allowedRoots: [], progress: (u) => events.push(u.phase) });
  assert.deepEqual(out, { data: { echo: { a: [1, { b: null }] } } });
  assert.deepEqual(events, ['result_generation']);
});

test('a handler parses its payload with its schema: defaults applied, bad data listed by path', async () => {
  const reg = builtinRegistry({ testHandlers: true });
  const sleep = reg.get('test.sleep')!;
  const bad = sleep.prepare({ seconds: 'soon' });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.issues.map((i) => i.path), ['payload.data.seconds']);
  const img = reg.get('test.image')!.prepare({ image: { path: '/vms/a.qcow2', checksum: 'sha256:' + 'a'.repeat(64) } });
  assert.ok(img.ok);
  assert.deepEqual(img.job.images, [{ field: 'image.path', path: '/vms/a.qcow2', checksum: 'sha256:' + 'a'.repeat(64) }]);
  const inspect = reg.get('guestkit.inspect')!.prepare({ image: { path: '/vms/b.vmdk', format: 'vmdk' }, output: { destination: '/out/b.json', format: 'json' } });
  assert.ok(inspect.ok);
  assert.deepEqual(inspect.job.outputs, [{ field: 'output.destination', path: '/out/b.json' }]);
});
