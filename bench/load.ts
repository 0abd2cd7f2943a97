import autocannon from 'autocannon'
import { QUICK } from './harness.js'
import type { RunningService } from './server-process.js'

export interface LoadOptions {
  url: string
  headers?: Record<string, string>
  /** When set, each request presents the next of these keys (Authorization: Bearer), round robin. */
  rotateBearerKeys?: readonly string[]
  connections: number
  seconds: number
}

export interface LoadResult {
  /** Responses per second over the run (all statuses; non-2xx are reported separately). */
  rps: number
  p50Ms: number
  p99Ms: number
  requests: number
  non2xx: number
  /** Connection errors, including timeouts: a failed run, not a slow one. */
  errors: number
  timeouts: number
  /** Status code → count, to tell a 429 (limits too low) from a 401 (wrong key) at a glance. */
  statusCodes: Record<string, number>
  seconds: number
}

/**
 * One autocannon run. Latency percentiles are computed from every response's own time rather than
 * autocannon's histogram, which records whole milliseconds: at 1–3 ms per request that rounding
 * would hide exactly the differences (1k vs 1M keys) the bench exists to show.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = []
  const pool = options.rotateBearerKeys ?? []
  let next = 0
  const requests: autocannon.Request[] | undefined = pool.length === 0 ? undefined : [{
    setupRequest: (request) => {
      request.headers = { ...request.headers, authorization: `Bearer ${pool[next++ % pool.length]}` }
      return request
    },
  }]
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: options.url,
      connections: options.connections,
      duration: options.seconds,
      headers: options.headers ?? {},
      ...(requests ? { requests } : {}),
      // Keep-alive, one request in flight per connection: how an API client library behaves.
      pipelining: 1,
      timeout: 10,
    }, (error, result) => {
      if (error) return reject(error)
      latencies.sort((a, b) => a - b)
      const statusCodes: Record<string, number> = {}
      for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0
      resolve({
        rps: result.requests.total / result.duration,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        requests: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        statusCodes,
        seconds: result.duration,
      })
    })
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      // Same rule as autocannon's own histogram: latency is a 2xx figure.
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    })
  })
}

/** Nearest-rank percentile of sorted values; NaN when there are none (nothing succeeded). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))
  return sorted[rank]!
}

/** Follows `next_cursor` from page 1 of `path?query` to page `page`; returns that page's URL. */
export async function urlOfPage(baseUrl: string, key: string, path: string, query: string, page: number): Promise<string> {
  let url = `${baseUrl}${path}?${query}`
  for (let n = 1; n < page; n++) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } })
    const body = await response.json() as { next_cursor?: string | null }
    if (response.status !== 200 || !body.next_cursor) throw new Error(`page ${n} of ${path}?${query} answered ${response.status} without a next page`)
    url = `${baseUrl}${path}?${query}&cursor=${encodeURIComponent(body.next_cursor)}`
  }
  return url
}

/** How every section loads a list page: 2 connections (an API client's pool), after a warm-up. */
export const LIST_LOAD = { connections: 2, warmupSeconds: QUICK ? 1 : 2, seconds: QUICK ? 3 : 8 }

export interface ListMeasurement {
  result: LoadResult
  /** The service's own CPU per request over the measured run (null where /proc cannot tell). */
  serviceCpuMsPerRequest: number | null
}

/** One list page under LIST_LOAD: a warm-up run, then the measured run with the service's CPU. */
export async function measureList(service: RunningService, url: string, headers: Record<string, string>, errors: { add(count: number): void }): Promise<ListMeasurement> {
  const warmup = await runLoad({ url, headers, connections: LIST_LOAD.connections, seconds: LIST_LOAD.warmupSeconds })
  const cpuBefore = service.cpuSeconds()
  const result = await runLoad({ url, headers, connections: LIST_LOAD.connections, seconds: LIST_LOAD.seconds })
  const cpuAfter = service.cpuSeconds()
  errors.add(warmup.errors + result.errors)
  return {
    result,
    serviceCpuMsPerRequest: cpuBefore === null || cpuAfter === null || result.requests === 0 ? null : ((cpuAfter - cpuBefore) * 1000) / result.requests,
  }
}
