import type { JobResult } from './result.js';

/**
 * A result's `data` already serialized where it was made (a handler thread), so the worker's
 * main thread — the serial part of every job — neither clones the object graph back nor
 * stringifies it again for the store and the result file. Anything that needs the value
 * (or serializes the result generically) gets it parsed on first use.
 */
export class SerializedData {
  private parsed?: { value: unknown };

  /**
   * @param compact JSON.stringify(value)
   * @param pretty JSON.stringify(value, null, 2) indented for the result's top level, when made
   */
  constructor(
    readonly compact: string,
    private prettyText?: string,
  ) {}

  get value(): unknown {
    this.parsed ??= { value: JSON.parse(this.compact) };
    return this.parsed.value;
  }

  /** As a member of the result document: two-space indent, nested one level. */
  get pretty(): string {
    this.prettyText ??= prettyMember(this.value);
    return this.prettyText;
  }

  /** JSON.stringify of a result holding it (any path that does not splice) stays right. */
  toJSON(): unknown {
    return this.value;
  }
}

/** JSON.stringify(value, null, 2) as the value of a top-level key of a pretty document. */
export function prettyMember(value: unknown): string {
  // made as the member it becomes (one pass, no re-indenting): cut from `{\n  "data": ` … `\n}`
  return JSON.stringify({ data: value }, null, 2).slice(12, -2);
}

/** JSON.stringify(result), splicing serialized data in as it is. */
export function resultJson(result: JobResult): string {
  const { data, ...rest } = result;
  if (!(data instanceof SerializedData)) return JSON.stringify(result);
  const head = JSON.stringify(rest);
  return head === '{}' ? `{"data":${data.compact}}` : `${head.slice(0, -1)},"data":${data.compact}}`;
}

/** JSON.stringify(result, null, 2), splicing serialized data in as it is. */
export function resultJsonPretty(result: JobResult): string {
  const { data, ...rest } = result;
  if (!(data instanceof SerializedData)) return JSON.stringify(result, null, 2);
  const head = JSON.stringify(rest, null, 2);
  return head === '{}' ? `{\n  "data": ${data.pretty}\n}` : `${head.slice(0, -2)},\n  "data": ${data.pretty}\n}`;
}
