import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { and, asc, eq, getTableName, inArray, lt, ne } from 'drizzle-orm'
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js'
import { contactImportChunks, contactImports, type ContactImportRow, type ImportStatus } from '../../db/schema/index.js'
import { binaryCopy, binaryField } from '../../db/bulk.js'
import { ApiError } from '../../errors.js'
import { newId } from '../../ids.js'
import { hasUnsafeCharacters } from '../../text.js'
import { listPage, type ListQuery } from '../../resource/list-page.js'
import { findOwned } from '../../resource/find-owned.js'
import { recordAudit, type Actor } from '../../audit/record.js'
import type { StoredResponse } from '../../idempotency/store.js'
import type { ServiceContext } from '../../service-context.js'
import { mappingProblem } from './mapping.js'
import { processImport } from './process.js'

export const IMPORT_JOB = 'contacts.import'
/**
 * Staged chunk size: few rows, cheap to hold. Chunks go in by binary COPY: as a bytea parameter a
 * chunk travelled as a hex string twice its size, flattened once more on the way to the socket —
 * four times the file on the JS heap, in large-object space that only a full GC frees: a 1M-row
 * (70 MB) upload grew the service's RSS by 110–126 MB (bench/contacts.ts).
 */
const CHUNK_BYTES = 256 * 1024
const CHUNK_COLUMNS = [contactImportChunks.importId.name, contactImportChunks.seq.name, contactImportChunks.data.name]
/** An upload still streaming in is no import yet: never listed, never found. */
const visible = ne(contactImports.status, 'uploading')

export function presentImport(row: ContactImportRow) {
  return {
    id: row.id,
    // Never `uploading`: such an import is not shown (see `visible`).
    status: row.status as Exclude<ImportStatus, 'uploading'>,
    format: row.format,
    on_conflict: row.onConflict,
    default_country: row.defaultCountry,
    tag: row.tag,
    bytes: row.bytes,
    processed: row.processed,
    created: row.created,
    updated: row.updated,
    skipped: row.skipped,
    failed: row.failed,
    errors: row.errors,
    failure_reason: row.failureReason,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    completed_at: row.completedAt?.toISOString() ?? null,
  }
}

export interface ImportOptions {
  format: 'csv' | 'ndjson'
  onConflict: 'skip' | 'update'
  defaultCountry?: string | undefined
  tag?: string | undefined
  /** JSON object text, as the query string carries it. */
  mapping?: string | undefined
}

export interface Upload {
  body: Readable
  contentLength: number | undefined
  /** What makes this upload "the same request" for an Idempotency-Key (method and URL). */
  request: { method: string; url: string }
  idempotencyKey?: string | undefined
}

function invalidOption(field: string, message: string): ApiError {
  return new ApiError('validation_failed', `${field} ${message}.`, { errors: [{ field, message }] })
}

/**
 * Bulk contact imports. The upload is streamed into staging (chunks of the file as sent, never
 * the whole file in memory); a pg-boss job then reads it back and applies it in batches, each
 * batch committed together with the import's counters, so an instance that dies mid-import leaves
 * the counters true and the job resumes after the last committed batch.
 */
export class ContactImports {
  constructor(private readonly context: ServiceContext) {
    context.queue.define<{ importId: string }>({
      name: IMPORT_JOB,
      handler: ({ importId }) => processImport(context, importId),
      retryLimit: 5,
      retryDelaySeconds: 2,
      pollingIntervalSeconds: 0.5,
      expireInSeconds: 3_600,
    })
    context.scheduler.register({
      name: 'contact-imports-resume',
      lockId: 710_004,
      intervalMs: Math.min(context.config.IMPORT_STALL_SECONDS, context.config.ALERT_INTERVAL_SECONDS) * 1000,
      // Every instance may send: a singleton job per import makes a second send a no-op.
      exclusive: false,
      run: async ({ now }) => { await this.resumeStalled(now) },
    })
  }

  private options(options: ImportOptions): Pick<ContactImportRow, 'defaultCountry' | 'tag' | 'mapping'> {
    if (options.defaultCountry !== undefined && !isSupportedCountry(options.defaultCountry)) {
      throw invalidOption('/querystring/default_country', 'must be an ISO 3166-1 alpha-2 country code such as US')
    }
    if (options.tag !== undefined && (options.tag.trim() === '' || options.tag.length > 64 || hasUnsafeCharacters(options.tag))) {
      throw invalidOption('/querystring/tag', 'must be 1 to 64 visible characters')
    }
    let mapping: Record<string, string> | null = null
    if (options.mapping !== undefined) {
      let parsed: unknown
      try {
        parsed = JSON.parse(options.mapping)
      } catch {
        throw invalidOption('/querystring/mapping', 'must be a JSON object of column → field')
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.values(parsed).every((value) => typeof value === 'string')) {
        throw invalidOption('/querystring/mapping', 'must be a JSON object of column → field')
      }
      const problem = mappingProblem(parsed as Record<string, string>)
      if (problem) throw invalidOption('/querystring/mapping', problem)
      if (options.format !== 'csv') throw invalidOption('/querystring/mapping', 'applies to CSV files only')
      mapping = parsed as Record<string, string>
    }
    return { defaultCountry: options.defaultCountry ?? null, tag: options.tag?.trim() ?? null, mapping }
  }

  /**
   * Streams the upload into staging under an import row that the API does not show yet
   * (`uploading`), then makes the import visible and queues its job in one short transaction —
   * where an Idempotency-Key is claimed too, with the file's hash in the fingerprint. A file over
   * IMPORT_MAX_BYTES is a 413 and leaves nothing behind; no transaction is held while a long upload
   * streams in.
   */
  async start(accountId: string, options: ImportOptions, upload: Upload, actor: Actor): Promise<{ response: StoredResponse; replayed: boolean }> {
    const max = this.context.config.IMPORT_MAX_BYTES
    const tooLarge = () => new ApiError('payload_too_large', `An import file may be at most ${max} bytes (IMPORT_MAX_BYTES).`)
    if (upload.contentLength !== undefined && upload.contentLength > max) {
      upload.body.resume()
      throw tooLarge()
    }
    const settings = this.options(options)
    const id = newId('contactImport')
    const { db } = this.context
    const now = this.context.clock.now()
    await db.insert(contactImports).values({
      id, accountId, status: 'uploading', format: options.format, onConflict: options.onConflict, ...settings, bytes: 0, createdAt: now, heartbeatAt: now,
    })
    const discard = async () => {
      await db.delete(contactImportChunks).where(eq(contactImportChunks.importId, id))
      await db.delete(contactImports).where(and(eq(contactImports.id, id), eq(contactImports.status, 'uploading')))
    }
    const hash = createHash('sha256')
    let bytes = 0
    try {
      let seq = 0
      let buffered: Buffer[] = []
      let size = 0
      const flush = async () => {
        if (size === 0) return
        const data = Buffer.concat(buffered, size)
        await this.context.database.bulk.transaction((tx) => tx.copyBinary(getTableName(contactImportChunks), CHUNK_COLUMNS,
          binaryCopy([[binaryField.text(id), binaryField.int4(seq), binaryField.bytea(data)]])))
        seq++
        buffered = []
        size = 0
      }
      for await (const chunk of upload.body as AsyncIterable<Buffer>) {
        bytes += chunk.length
        if (bytes > max) throw tooLarge()
        hash.update(chunk)
        buffered.push(chunk)
        size += chunk.length
        if (size >= CHUNK_BYTES) await flush()
      }
      await flush()
    } catch (error) {
      upload.body.resume()
      await discard()
      throw error
    }

    let outcome: { response: StoredResponse; replayed: boolean }
    try {
      outcome = await db.transaction(async (tx) => {
        if (upload.idempotencyKey) {
          const fingerprint = createHash('sha256').update(JSON.stringify([upload.request.method, upload.request.url, hash.digest('base64url')])).digest('base64url')
          const claim = await this.context.idempotency.claim(accountId, upload.idempotencyKey, fingerprint, tx)
          if (claim.kind === 'replay') return { response: claim.response, replayed: true }
          if (claim.kind === 'reused') throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was used for a different request; use a new key for a new request.')
          if (claim.kind === 'in_progress') throw new ApiError('idempotency_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.', { headers: { 'retry-after': '1' } })
        }
        const [row] = await tx.update(contactImports).set({ status: 'queued', bytes, heartbeatAt: this.context.clock.now() })
          .where(and(eq(contactImports.id, id), eq(contactImports.status, 'uploading'))).returning()
        await recordAudit(tx, actor, { accountId, action: 'contact.import.created', targetType: 'import', targetId: id, before: null, after: presentImport(row!) })
        const response: StoredResponse = {
          status: 202,
          headers: { 'content-type': 'application/json; charset=utf-8', location: `/api/v1/contacts/imports/${id}` },
          body: JSON.stringify(presentImport(row!)),
        }
        if (upload.idempotencyKey) await this.context.idempotency.complete(accountId, upload.idempotencyKey, response, tx)
        return { response, replayed: false }
      })
    } catch (error) {
      await discard()
      throw error
    }
    if (outcome.replayed) {
      await discard()
      return outcome
    }
    await this.context.queue.send(IMPORT_JOB, { importId: id }, { singletonKey: id })
    return outcome
  }

  async get(accountId: string, importId: string) {
    return presentImport(await findOwned<ContactImportRow>(this.context.db, contactImports, accountId, importId, { label: 'import', where: visible }))
  }

  list(accountId: string, page: ListQuery & { status?: ImportStatus | undefined }) {
    return listPage({
      columns: contactImports,
      page,
      filters: { status: page.status },
      fetch: ({ after, orderBy, limit }) => this.context.db.select().from(contactImports)
        .where(and(eq(contactImports.accountId, accountId), visible, page.status ? eq(contactImports.status, page.status) : undefined, after))
        .orderBy(...orderBy).limit(limit),
      present: presentImport,
    })
  }

  /**
   * Imports whose job died with its instance (no progress for IMPORT_STALL_SECONDS) are queued
   * again: the job resumes after the last committed batch. An upload that died before it finished
   * (`uploading` for an hour) is deleted with its chunks.
   */
  async resumeStalled(now: Date): Promise<number> {
    const { db } = this.context
    const stale = new Date(now.getTime() - this.context.config.IMPORT_STALL_SECONDS * 1000)
    const stalled = await db.select({ id: contactImports.id }).from(contactImports)
      .where(and(inArray(contactImports.status, ['queued', 'running']), lt(contactImports.heartbeatAt, stale)))
      .orderBy(asc(contactImports.heartbeatAt)).limit(100)
    for (const { id } of stalled) await this.context.queue.send(IMPORT_JOB, { importId: id }, { singletonKey: id })
    const abandoned = await db.select({ id: contactImports.id }).from(contactImports)
      .where(and(eq(contactImports.status, 'uploading'), lt(contactImports.heartbeatAt, new Date(now.getTime() - 3_600_000)))).limit(100)
    for (const { id } of abandoned) {
      await db.delete(contactImportChunks).where(eq(contactImportChunks.importId, id))
      await db.delete(contactImports).where(and(eq(contactImports.id, id), eq(contactImports.status, 'uploading')))
    }
    return stalled.length
  }
}
