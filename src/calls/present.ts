import { sql } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { calls, type CallRow } from '../db/schema/index.js'

export type PublicCallRow = Omit<CallRow, 'accountId' | 'holdsSlot' | 'onCapacity' | 'sequence' | 'elapsedSeconds' | 'pending' | 'dueAt' | 'updatedAt'>

/** ISO 8601 UTC with milliseconds, as Date#toISOString writes it, formatted by PostgreSQL. */
const isoText = (column: PgColumn) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/**
 * The public call object, built by PostgreSQL for lists: a page of 100 calls spent most of its
 * CPU decoding rows — drizzle's per-column mapping and eight timestamps a row parsed into Dates
 * and formatted back (2.2 ms of service CPU a page). Here each row arrives already in its public
 * shape; `presentCall` is the same object for one call read through drizzle (a test holds the two
 * equal).
 */
export const PUBLIC_CALL_SQL = sql`${calls.id} as id, ${calls.agentId} as agent_id, ${calls.agentVersion} as agent_version,
  ${calls.contactId} as contact_id, ${calls.campaignId} as campaign_id, ${calls.to} as "to", ${calls.from} as "from",
  ${calls.direction} as direction, ${calls.status} as status, ${calls.endReason} as end_reason, ${calls.answeredBy} as answered_by,
  ${isoText(calls.createdAt)} as created_at, ${isoText(calls.scheduledAt)} as scheduled_at, ${isoText(calls.ringingAt)} as ringing_at,
  ${isoText(calls.answeredAt)} as answered_at, ${isoText(calls.endedAt)} as ended_at, ${calls.durationSeconds} as duration_seconds,
  ${calls.billableSeconds} as billable_seconds, ${calls.rate} as rate, ${calls.cost} as cost, ${calls.maxDurationSeconds} as max_duration_seconds,
  ${calls.transcript} as transcript, ${calls.analysis} as analysis, ${calls.variables} as variables, ${calls.metadata} as metadata`

export function presentCall(row: PublicCallRow) {
  const at = (date: Date | null) => date?.toISOString() ?? null
  return {
    id: row.id,
    agent_id: row.agentId,
    agent_version: row.agentVersion,
    contact_id: row.contactId,
    campaign_id: row.campaignId,
    to: row.to,
    from: row.from,
    direction: row.direction,
    status: row.status,
    end_reason: row.endReason,
    answered_by: row.answeredBy,
    created_at: row.createdAt.toISOString(),
    scheduled_at: at(row.scheduledAt),
    ringing_at: at(row.ringingAt),
    answered_at: at(row.answeredAt),
    ended_at: at(row.endedAt),
    duration_seconds: row.durationSeconds,
    billable_seconds: row.billableSeconds,
    rate: row.rate,
    cost: row.cost,
    max_duration_seconds: row.maxDurationSeconds,
    transcript: row.transcript,
    analysis: row.analysis,
    variables: row.variables,
    metadata: row.metadata,
  }
}

export type PublicCall = ReturnType<typeof presentCall>
