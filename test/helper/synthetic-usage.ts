import { randomInt } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { failedAuthEvents, usageEvents, usageRollups } from '../../src/db/schema/index.js'
import { randomBase62 } from '../../src/ids.js'

/**
 * Synthetic traffic for the detectors, written straight into the tables the usage writer fills,
 * at instants relative to a fixed `now`. Each test file starts at a random day far in the future,
 * so runs sharing one PostgreSQL (and the real usage log of the tests' own requests) never fall
 * into one another's windows.
 */
export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

export function isolatedEpoch(): Date {
  return new Date(Date.UTC(2031, 0, 1) + randomInt(0, 90_000) * DAY)
}

/** Hands out instants a day apart, so each scenario has its windows to itself. */
export function scenarioClock(epoch = isolatedEpoch()): () => Date {
  let day = 0
  return () => new Date(epoch.getTime() + ++day * DAY)
}

export const minutesBefore = (now: Date, minutes: number) => new Date(now.getTime() - minutes * MINUTE)

export interface RollupInput {
  keyId: string
  accountId: string
  minute: Date
  requests: number
  rateLimited?: number
}

export async function insertRollups(app: FastifyInstance, rows: RollupInput[]): Promise<void> {
  if (rows.length === 0) return
  await app.database.db.insert(usageRollups).values(rows.map((row) => ({
    keyId: row.keyId,
    accountId: row.accountId,
    minute: row.minute,
    requests: row.requests,
    errors: row.rateLimited ?? 0,
    rateLimited: row.rateLimited ?? 0,
    latencyHistogram: [],
  })))
}

/** One rollup row per minute, `fromMinutes` down to `toMinutes` (inclusive) before `now`. */
export function perMinute(key: { keyId: string; accountId: string }, now: Date, fromMinutes: number, toMinutes: number, requests: number, rateLimited = 0): RollupInput[] {
  const rows: RollupInput[] = []
  for (let m = fromMinutes; m >= toMinutes; m--) rows.push({ ...key, minute: minutesBefore(now, m), requests, rateLimited })
  return rows
}

export interface UsageEventInput {
  keyId: string
  accountId: string
  at: Date
  ip: string
  network: string
  userAgent?: string | null
  status?: number
}

export async function insertUsageEvents(app: FastifyInstance, rows: UsageEventInput[]): Promise<void> {
  if (rows.length === 0) return
  await app.database.db.insert(usageEvents).values(rows.map((row) => ({
    id: `req_${randomBase62(20)}`,
    accountId: row.accountId,
    keyId: row.keyId,
    method: 'GET',
    route: '/api/v1/keys/current',
    status: row.status ?? 200,
    latencyMs: 3,
    clientIp: row.ip,
    clientNetwork: row.network,
    userAgent: row.userAgent ?? null,
    rateLimit: 'allowed',
    createdAt: row.at,
  })))
}

export interface FailedAuthInput {
  ip: string
  at: Date
  keyPrefix?: string | null
  accountId?: string | null
  keyId?: string | null
  reason?: string
}

export async function insertFailedAuth(app: FastifyInstance, rows: FailedAuthInput[]): Promise<void> {
  if (rows.length === 0) return
  await app.database.db.insert(failedAuthEvents).values(rows.map((row) => ({
    clientIp: row.ip,
    keyPrefix: row.keyPrefix ?? null,
    accountId: row.accountId ?? null,
    keyId: row.keyId ?? null,
    reason: row.reason ?? 'invalid_api_key',
    createdAt: row.at,
  })))
}

/** `count` failures spread over the 5 minutes before `now`. */
export function failuresBefore(now: Date, count: number, row: Omit<FailedAuthInput, 'at'>): FailedAuthInput[] {
  return Array.from({ length: count }, (_, i) => ({ ...row, at: new Date(now.getTime() - 1_000 - Math.floor((i * 290_000) / count)) }))
}
