import assert from 'node:assert/strict';
import { test } from 'node:test';
import { completedResult, type JobResult } from '../../src/protocol/result.js';
import { prettyMember, resultJson, resultJsonPretty, SerializedData } from '../../src/protocol/result-json.js';
import { rng } from '../helpers/rng.js';

const job = { job_id: 'rj-1', execution: { attempt: 1, max_attempts: 1, timeout_seconds: 60, priority: 5, cancellable: true } } as const;

function randomValue(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 6 : 9));
  const str = () => ['', 'plain', 'two\nlines', 'tab\there', 'quote " and \\ slash', 'ünïcödé ✓', '\u2028sep', '  spaced  '][Math.floor(r() * 8)]!;
  switch (pick) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 1e9) / (r() < 0.5 ? 1 : 1000);
    case 3: return str();
    case 4: return 0;
    case 5: return [];
    case 6: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    case 7: return {};
    default: return Object.fromEntries(Array.from({ length: Math.floor(r() * 5) }, (_, i) => [`${str()}${i}`, randomValue(r, depth + 1)]));
  }
}

function withSerialized(result: JobResult, pretty: boolean): JobResult {
  const compact = JSON.stringify(result.data);
  return { ...result, data: new SerializedData(compact, pretty ? prettyMember(result.data) : undefined) };
}

test('spliced result JSON (compact and pretty) equals JSON.stringify of the same document, data last', () => {
  const r = rng(20261204);
  for (let i = 0; i < 500; i++) {
    const data = randomValue(r, 0);
    const result = completedResult({ job, workerId: 'w', startedAt: '2026-12-04T10:00:00Z', finishedAt: '2026-12-04T10:00:01Z', data, metrics: { disk_read_bytes: i } });
    result.observability = { trace_id: 't', span_id: 's' }; // added after data, as the worker does
    const { data: _, ...rest } = result;
    const reference = { ...rest, data };
    for (const pretty of [true, false]) {
      const s = withSerialized(result, pretty);
      assert.equal(resultJson(s), JSON.stringify(reference), `compact, case ${i}`);
      assert.equal(resultJsonPretty(s), JSON.stringify(reference, null, 2), `pretty (${pretty ? 'made in the thread' : 'made on demand'}), case ${i}`);
      // any other serialization of the result still sees the value
      assert.deepEqual(JSON.parse(JSON.stringify(s)), JSON.parse(JSON.stringify(reference)));
      assert.deepEqual((s.data as SerializedData).value, data);
    }
  }
});

test('a result without serialized data is stringified as it is', () => {
  const result = completedResult({ job, workerId: 'w', startedAt: '2026-12-04T10:00:00Z', data: { a: [1, 2] } });
  assert.equal(resultJson(result), JSON.stringify(result));
  assert.equal(resultJsonPretty(result), JSON.stringify(result, null, 2));
  const none = completedResult({ job, workerId: 'w', startedAt: '2026-12-04T10:00:00Z' });
  assert.equal(resultJson(none), JSON.stringify(none));
});

test('the value is parsed once, on first use', () => {
  const d = new SerializedData('{"k":[1,{"x":"y"}]}');
  const v = d.value;
  assert.deepEqual(v, { k: [1, { x: 'y' }] });
  assert.equal(d.value, v, 'the same object each time');
  assert.equal(d.pretty, '{\n    "k": [\n      1,\n      {\n        "x": "y"\n      }\n    ]\n  }');
});
