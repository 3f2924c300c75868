/** The shared protocol code names Node's Buffer on paths the dashboard never takes (job ids, raw JSON text); typed here so web/ type-checks without Node's types. */
declare const Buffer: { byteLength(s: string, encoding?: string): number };
