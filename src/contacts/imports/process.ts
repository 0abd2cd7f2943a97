import { setImmediate } from 'node:timers/promises'
import { and, eq, sql } from 'drizzle-orm'
import { rowsOf } from '../../db/rows.js'
import { contactImportChunks, contactImports, type ContactImportRow } from '../../db/schema/index.js'
import { appendEvent } from '../../outbox/outbox.js'
import { JobInterruptedError } from '../../jobs/queue.js'
import type { ServiceContext } from '../../service-context.js'
import { columnTargets, type ColumnTarget } from './mapping.js'
import { BatchBuilder, commitBatch, type PreparedBatch } from './batch.js'
import { UnreadableFileError, readCsv, readNdjson, type RawRecord } from './records.js'
import { presentImport } from './service.js'

/** Thrown to end an import job early because its instance is stopping; pg-boss retries it. */
export class ImportInterruptedError extends JobInterruptedError {
  override readonly name = 'ImportInterruptedError'
  constructor(importId: string, processed: number) {
    super(`import ${importId} interrupted after ${processed} rows: this instance is stopping; it resumes on the next run`)
  }
}

/**
 * Read back in pieces of READ_PIECE_BYTES: bytea arrives as hex text twice its size, and a string
 * that size stays in V8's young generation, freed at the next scavenge, where a whole chunk's
 * 512 KB string went to large-object space, which only a full GC frees (the RSS of a 1M-row import
 * grew with it). One query a chunk; the rows are the chunk's pieces in order.
 */
const READ_PIECE_BYTES = 32 * 1024

async function* stagedChunks(context: ServiceContext, importId: string): AsyncIterable<Uint8Array> {
  const { data, importId: chunkImport, seq: chunkSeq } = contactImportChunks
  const size = sql.raw(String(READ_PIECE_BYTES))
  for (let seq = 0; ; seq++) {
    const pieces = rowsOf<{ piece: Uint8Array }>(await context.db.execute(sql`
      select substring(${data} from i * ${size} + 1 for ${size}) as piece
      from ${contactImportChunks}, generate_series(0, greatest(octet_length(${data}) - 1, 0) / ${size}) as i
      where ${chunkImport} = ${importId} and ${chunkSeq} = ${seq}
      order by i`))
    if (pieces.length === 0) return
    for (const { piece } of pieces) yield piece
  }
}

/**
 * Checking rows is CPU work that runs while the previous batch commits, and the commit's replies
 * (BEGIN, the lock, the INSERT, the counters, COMMIT) are handled only when the event loop gets a
 * turn: reading records through async iterators gives it one only when a staged chunk is read,
 * so each reply waited for the rest of a chunk's rows and PostgreSQL sat idle. A turn every 25 rows
 * (~0.5 ms of work) took a 100,000-row import from 4.5-4.9 s to 3.2-3.7 s (every 400 rows: no
 * change). On PGlite, which answers in-process, it is also what lets requests and timers in.
 */
const YIELD_EVERY_ROWS = 25

/**
 * The import job: reads the staged file from where the last committed batch stopped and applies
 * it batch by batch. Idempotent and safe to run twice at once: each batch takes the import row's
 * lock and commits only if `processed` is still what this run read, so no row is applied twice.
 */
export async function processImport(context: ServiceContext, importId: string): Promise<void> {
  const { db, clock } = context
  const [current] = await db.select().from(contactImports).where(eq(contactImports.id, importId))
  if (!current || (current.status !== 'queued' && current.status !== 'running')) return
  // Queued → running, or (resuming) a fresh heartbeat: either way the sweep leaves it alone now.
  const [imp] = await db.update(contactImports)
    .set({ status: 'running', startedAt: current.startedAt ?? clock.now(), heartbeatAt: clock.now() })
    .where(and(eq(contactImports.id, importId), eq(contactImports.status, current.status))).returning()
  if (!imp) return

  const writer = new BatchWriter(context, imp)
  try {
    let targets: ColumnTarget[] = []
    let records: AsyncIterable<RawRecord>
    if (imp.format === 'csv') {
      const file = await readCsv(stagedChunks(context, importId))
      targets = columnTargets(file.header, imp.mapping)
      if (!targets.some((target) => 'field' in target && target.field === 'phone')) {
        throw new UnreadableFileError(`no column is the phone number (columns: ${file.header.join(', ') || 'none'}); name one "phone" or map one to it`)
      }
      records = file.records
    } else {
      records = readNdjson(stagedChunks(context, importId))
    }
    const batch = new BatchBuilder(imp, targets)
    let read = 0
    for await (const record of records) {
      if (++read % YIELD_EVERY_ROWS === 0) await setImmediate()
      if (record.row <= writer.processed) continue
      batch.add(record)
      if (batch.length >= context.config.IMPORT_BATCH_SIZE) {
        // The instance is stopping: end at this batch boundary; the retry resumes after `processed`.
        if (context.stopping.aborted) {
          await writer.settle()
          throw new ImportInterruptedError(importId, writer.processed)
        }
        if (!(await writer.write(batch.take()))) return
      }
    }
    if (batch.length > 0 && !(await writer.write(batch.take()))) return
    if (!(await writer.settle())) return
    await finish(context, imp, writer.processed, { status: 'completed' })
  } catch (error) {
    if (!(error instanceof UnreadableFileError)) throw error
    if (!(await writer.settle())) return
    await finish(context, imp, writer.processed, { status: 'failed', reason: error.message })
  } finally {
    await writer.abandon()
  }
}

/**
 * Commits batches in order with one in flight: the next batch is parsed and checked while
 * PostgreSQL writes the previous one, so the import costs the larger of the two, not their sum.
 */
class BatchWriter {
  /** Rows committed so far (the import's `processed`). */
  processed: number
  private inFlight: { commit: Promise<boolean>; size: number } | null = null

  constructor(private readonly context: ServiceContext, private readonly imp: ContactImportRow) {
    this.processed = imp.processed
  }

  /**
   * Commits a checked batch once the previous batch has; false if another run owns the import.
   * Only the checked form waits here (see ValidRow in batch.ts): the raw records are garbage by then.
   */
  async write(prepared: PreparedBatch): Promise<boolean> {
    if (!(await this.settle())) return false
    const commit = commitBatch(this.context, this.imp, this.processed, prepared)
    // Awaited by the next write, settle() or abandon(); never left to reject unobserved.
    commit.catch(() => {})
    this.inFlight = { commit, size: prepared.size }
    return true
  }

  /** Waits for the batch in flight; false if it found another run owning the import. */
  async settle(): Promise<boolean> {
    const flight = this.inFlight
    if (!flight) return true
    this.inFlight = null
    if (!(await flight.commit)) return false
    this.processed += flight.size
    return true
  }

  /** After a failure: lets a batch in flight end (commit or roll back) before the job returns. */
  async abandon(): Promise<void> {
    await this.inFlight?.commit.catch(() => {})
    this.inFlight = null
  }
}

async function finish(context: ServiceContext, imp: ContactImportRow, processed: number, end: { status: 'completed' | 'failed'; reason?: string }): Promise<void> {
  await context.db.transaction(async (tx) => {
    const [done] = await tx.update(contactImports)
      .set({ status: end.status, completedAt: context.clock.now(), heartbeatAt: context.clock.now(), failureReason: end.reason ?? null })
      .where(and(eq(contactImports.id, imp.id), eq(contactImports.status, 'running'), eq(contactImports.processed, processed)))
      .returning()
    if (!done) return
    await tx.delete(contactImportChunks).where(eq(contactImportChunks.importId, imp.id))
    await appendEvent(tx, { accountId: imp.accountId, type: `contact.import.${end.status}`, payload: presentImport(done) })
  })
}
