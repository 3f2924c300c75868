/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short strings. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known names closest to a mistyped one, as commander suggests commands: within a
 * third of the name's length; a name that is the unqualified tail of a known one
 * (`inspect` for `guestkit.inspect`) counts as a match.
 */
export function suggest(word: string, known: readonly string[]): string[] {
  const tail = known.filter((k) => k.endsWith(`.${word}`));
  if (tail.length) return tail;
  let best = Infinity;
  let out: string[] = [];
  for (const k of known) {
    const dist = distance(word, k);
    if (dist > Math.max(1, Math.floor(k.length / 3))) continue;
    if (dist < best) [best, out] = [dist, [k]];
    else if (dist === best) out.push(k);
  }
  return out;
}
