import { sql } from 'drizzle-orm'
import { calls, type CallRow } from '../db/schema/index.js'
import { isoText } from '../resource/list-page.js'

export type PublicCallRow = Omit<CallRow, 'accountId' | 'holdsSlot' | 'onCapacity' | 'sequence' | 'elapsedSeconds' | 'pending' | 'dueAt' | 'updatedAt'>

/**
 * The public call object as JSON text, built by PostgreSQL, for lists: a page of 100 calls weighs
 * ~140 KB, nearly all transcripts, and the service spent its time parsing that JSON into objects,
 * mapping columns, turning eight timestamps a row into Dates and back, and serialising it all again
 * — allocation whose garbage collection was the list's p99. Here the row leaves PostgreSQL as the
 * text the response carries (`listJsonPage` lists it, `sendJsonPage` sends a page). Keys are in
 * the order of the `Call` schema, analysis too (jsonb keeps its own key order), so a listed call
 * parses to exactly what GET /calls/{id} serialises through that schema from `presentCall` — a
 * test holds the two equal.
 */
export const PUBLIC_CALL_JSON = sql`json_build_object(
  'id', ${calls.id}, 'agent_id', ${calls.agentId}, 'agent_version', ${calls.agentVersion},
  'contact_id', ${calls.contactId}, 'campaign_id', ${calls.campaignId}, 'to', ${calls.to}, 'from', ${calls.from},
  'direction', ${calls.direction}, 'status', ${calls.status}, 'end_reason', ${calls.endReason}, 'answered_by', ${calls.answeredBy},
  'created_at', ${isoText(calls.createdAt)}, 'scheduled_at', ${isoText(calls.scheduledAt)}, 'ringing_at', ${isoText(calls.ringingAt)},
  'answered_at', ${isoText(calls.answeredAt)}, 'ended_at', ${isoText(calls.endedAt)}, 'duration_seconds', ${calls.durationSeconds},
  'billable_seconds', ${calls.billableSeconds}, 'rate', ${calls.rate}, 'cost', ${calls.cost}, 'max_duration_seconds', ${calls.maxDurationSeconds},
  'transcript', ${calls.transcript},
  'analysis', case when ${calls.analysis} is null or ${calls.analysis} = 'null'::jsonb then null else json_build_object(
    'summary', ${calls.analysis} -> 'summary', 'outcome', ${calls.analysis} -> 'outcome', 'extracted', ${calls.analysis} -> 'extracted') end,
  'variables', ${calls.variables}, 'metadata', ${calls.metadata})::text`

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

