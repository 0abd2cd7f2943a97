/**
 * Sliding-window rate limiting by the two-bucket weighted estimate (as Cloudflare describes it):
 * a window of length W is split into fixed buckets of length W; the count "in the last W" is
 * estimated as previous × (1 − elapsed/W) + current. Unlike a fixed window, requests made late in
 * one bucket still weigh on the start of the next.
 *
 * This file is the single statement of that arithmetic for the in-process store; the Redis Lua
 * script (redis-store.ts) implements the same formulas, and the tests hold both to the same cases.
 */
export interface WindowSpec {
  /** Stable name used in headers and errors: `minute` or `hour`, or `auth_failures`. */
  name: string
  windowMs: number
  limit: number
}

export interface WindowCounts {
  previous: number
  current: number
}

export interface WindowState {
  name: string
  limit: number
  /** Requests still allowed now (after counting this one, when it was admitted). */
  remaining: number
  /** Unix epoch seconds when the current bucket closes and its count starts to decay. */
  resetAt: number
}

export interface LimitDecision {
  allowed: boolean
  windows: WindowState[]
  /** The window that refused the request, when one did. */
  blockedBy?: string
  /** Whole seconds until the estimate drops back under the limit, when refused. */
  retryAfterSeconds?: number
}

export function bucketOf(nowMs: number, windowMs: number): number {
  return Math.floor(nowMs / windowMs)
}

export function estimate(counts: WindowCounts, nowMs: number, windowMs: number): number {
  const elapsed = (nowMs % windowMs) / windowMs
  return counts.previous * (1 - elapsed) + counts.current
}

/**
 * Milliseconds from now until one more request fits under the limit. Within the current bucket the
 * previous bucket's weight falls linearly; if the current bucket alone is at the limit, we wait
 * into the next bucket, where the current count becomes the decaying previous one.
 */
export function msUntilAdmitted(counts: WindowCounts, nowMs: number, spec: WindowSpec): number {
  const { windowMs, limit } = spec
  const bucketStart = bucketOf(nowMs, windowMs) * windowMs
  const room = limit - 1
  if (counts.current <= room && counts.previous > 0) {
    const fraction = 1 - (room - counts.current) / counts.previous
    const at = bucketStart + Math.max(0, fraction) * windowMs
    if (at < bucketStart + windowMs) return Math.max(0, at - nowMs)
  }
  if (counts.current <= room) return Math.max(0, bucketStart + windowMs - nowMs)
  const fraction = 1 - room / counts.current
  return bucketStart + windowMs + fraction * windowMs - nowMs
}

/** Decides one request against every window; counts nothing itself. */
export function decide(specs: readonly WindowSpec[], counts: readonly WindowCounts[], nowMs: number): LimitDecision {
  let blocked: { spec: WindowSpec; waitMs: number } | undefined
  const windows = specs.map((spec, i) => {
    const used = estimate(counts[i]!, nowMs, spec.windowMs)
    if (used + 1 > spec.limit) {
      const waitMs = msUntilAdmitted(counts[i]!, nowMs, spec)
      if (!blocked || waitMs > blocked.waitMs) blocked = { spec, waitMs }
    }
    return { spec, used }
  })
  const allowed = blocked === undefined
  return {
    allowed,
    windows: windows.map(({ spec, used }) => ({
      name: spec.name,
      limit: spec.limit,
      remaining: Math.max(0, Math.floor(spec.limit - used - (allowed ? 1 : 0))),
      resetAt: Math.ceil(((bucketOf(nowMs, spec.windowMs) + 1) * spec.windowMs) / 1000),
    })),
    ...(blocked ? { blockedBy: blocked.spec.name, retryAfterSeconds: Math.max(1, Math.ceil(blocked.waitMs / 1000)) } : {}),
  }
}

/** The window closest to running out: what the X-RateLimit-* headers describe. */
export function tightestWindow(windows: readonly WindowState[]): WindowState | undefined {
  let tightest: WindowState | undefined
  for (const window of windows) {
    if (!tightest || window.remaining / window.limit < tightest.remaining / tightest.limit) tightest = window
  }
  return tightest
}
