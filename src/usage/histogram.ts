/**
 * Latency histograms with fixed buckets, in milliseconds. Fixed bounds make histograms of
 * different minutes, keys and instances mergeable by plain element-wise addition (in SQL as in
 * JS), which is what lets an hour or a month of per-minute rollups yield a p50/p99 without
 * reading a single raw request.
 *
 * The price of that: a percentile is known only to its bucket. `percentile()` answers with the
 * bucket's UPPER bound — "p99 ≤ 200 ms" — never an interpolated value. The last bucket is open
 * (slower than the request timeout); it reports OVERFLOW_REPORTED_MS, meaning "at least that".
 *
 * Changing the bounds changes the meaning of every stored histogram: append buckets only, never
 * move or remove one (the SQL merge pads a shorter array with zeros, so appending is safe).
 */
export const LATENCY_BUCKET_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000] as const

/** Finite bounds plus the open overflow bucket. */
export const BUCKET_COUNT = LATENCY_BUCKET_BOUNDS_MS.length + 1

/** What a percentile falling in the open overflow bucket reports: its lower bound (the request timeout). */
export const OVERFLOW_REPORTED_MS = LATENCY_BUCKET_BOUNDS_MS[LATENCY_BUCKET_BOUNDS_MS.length - 1]!

export type Histogram = number[]

export function emptyHistogram(): Histogram {
  return new Array<number>(BUCKET_COUNT).fill(0)
}

/** Index of the bucket holding `ms`: the first whose upper bound is ≥ ms (bounds are inclusive). */
export function bucketOf(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKET_BOUNDS_MS.length; i++) {
    if (ms <= LATENCY_BUCKET_BOUNDS_MS[i]!) return i
  }
  return LATENCY_BUCKET_BOUNDS_MS.length
}

/** The reported value of bucket `index`: its upper bound, or OVERFLOW_REPORTED_MS for the open bucket. */
export function bucketUpperBound(index: number): number {
  return LATENCY_BUCKET_BOUNDS_MS[index] ?? OVERFLOW_REPORTED_MS
}

/**
 * The p-th percentile (0 < p ≤ 100) as the upper bound of the bucket holding it (nearest-rank:
 * the smallest bucket whose cumulative count reaches ⌈p/100 × total⌉). Null for an empty histogram.
 */
export function percentile(histogram: readonly number[], p: number): number | null {
  let total = 0
  for (const count of histogram) total += count
  if (total === 0) return null
  const rank = Math.max(1, Math.ceil((p / 100) * total))
  let seen = 0
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!
    if (seen >= rank) return bucketUpperBound(i)
  }
  return bucketUpperBound(histogram.length - 1)
}
