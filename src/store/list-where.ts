/**
 * The WHERE clause of a job listing's SELECT (either adapter's list-query.ts), without its
 * order and page: the statistics count what the listing with the same filters would show.
 */
export function listingWhere(listing: { sql: string; params: unknown[] }): { where: string; params: unknown[] } {
  const head = 'SELECT * FROM jobs ';
  const tail = listing.sql.lastIndexOf(' ORDER BY ');
  if (!listing.sql.startsWith(head) || tail < 0) throw new Error(`stats: the listing query changed its shape: ${listing.sql}`);
  // the last parameter is the page size
  return { where: listing.sql.slice(head.length, tail), params: listing.params.slice(0, -1) };
}
