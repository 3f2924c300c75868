import { compareHandler } from './handlers/compare.js';
import { convertHandler } from './handlers/convert.js';
import { echoHandler } from './handlers/echo.js';
import { fixHandler } from './handlers/fix.js';
import { inspectHandler } from './handlers/inspect.js';
import { profileHandler } from './handlers/profile.js';
import { testHandlers } from './handlers/testing.js';
import type { HandlerDefinition } from './types.js';

export interface Capabilities {
  operations: string[];
  features: string[];
  disk_formats: string[];
  filesystems: string[];
}

/** Operations → handlers; what a worker advertises is derived from what is registered here. */
export class HandlerRegistry {
  private readonly byName = new Map<string, HandlerDefinition>();
  private readonly defs: HandlerDefinition[] = [];

  register(def: HandlerDefinition): this {
    for (const name of [def.operation, ...(def.aliases ?? [])]) {
      if (this.byName.has(name)) throw new Error(`handler for ${name} registered twice`);
      this.byName.set(name, def);
    }
    this.defs.push(def);
    this.caps = undefined;
    return this;
  }

  get(operation: string): HandlerDefinition | undefined {
    return this.byName.get(operation);
  }

  handlers(): readonly HandlerDefinition[] {
    return this.defs;
  }

  private caps?: Capabilities;

  capabilities(): Capabilities {
    return (this.caps ??= this.computeCapabilities());
  }

  private computeCapabilities(): Capabilities {
    const uniq = (xs: Iterable<string>) => [...new Set(xs)].sort();
    return {
      operations: uniq(this.byName.keys()),
      features: uniq(this.defs.flatMap((d) => d.features ?? [])),
      disk_formats: uniq(this.defs.flatMap((d) => d.diskFormats ?? [])),
      filesystems: uniq(this.defs.flatMap((d) => d.filesystems ?? [])),
    };
  }
}

export interface RegistryOptions {
  /** Registers the test.* handlers (GUESTKIT_TEST_HANDLERS=1); never in production. */
  testHandlers?: boolean;
}

export function testHandlersEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.GUESTKIT_TEST_HANDLERS === '1';
}

/**
 * The handlers this build ships. Called both on the main thread and inside each pool
 * thread (which looks the operation up again), so it must be cheap and deterministic.
 */
export function builtinRegistry(opts: RegistryOptions = {}): HandlerRegistry {
  const r = new HandlerRegistry();
  r.register(echoHandler);
  r.register(inspectHandler());
  r.register(profileHandler());
  r.register(compareHandler());
  r.register(convertHandler());
  r.register(fixHandler());
  if (opts.testHandlers) for (const h of testHandlers) r.register(h);
  return r;
}
