import { setImmediate as nextTurn } from 'node:timers/promises'
import type { PGlite } from '@electric-sql/pglite'
import type { Sql } from 'postgres'

/** A statement built (not run) by drizzle's query builder: `db.insert(…)….toSQL()`. */
export interface BuiltQuery {
  toSQL(): { sql: string; params: unknown[] }
}

export interface BulkTransaction {
  /**
   * `COPY table (columns) FROM STDIN` in PostgreSQL's text format: one row per line, columns
   * tab-separated, each value escaped with `copyText` (or `\N` for null). The rows come in chunks
   * so that a large batch is built a piece at a time.
   */
  copy(table: string, columns: readonly string[], chunks: Iterable<string>): Promise<void>
  /**
   * `COPY … FROM STDIN WITH (FORMAT binary)`, the chunks made by `binaryCopy`: raw bytes stay raw
   * bytes (a bytea parameter would travel as a hex string twice its size, built on the JS heap).
   */
  copyBinary(table: string, columns: readonly string[], chunks: Iterable<Uint8Array>): Promise<void>
  execute(query: BuiltQuery): Promise<void>
}

/**
 * Bulk writes on the driver itself, for what drizzle cannot express: COPY, which loads rows at
 * roughly half of PostgreSQL's CPU cost per row of an INSERT … SELECT (measured on usage rows).
 * Statements still come from drizzle's builder, so the schema stays the single source of names.
 */
export interface BulkWriter {
  transaction(work: (tx: BulkTransaction) => Promise<void>): Promise<void>
}

type CopyFormat = 'text' | 'binary'

function copyStatement(table: string, columns: readonly string[], source: string, format: CopyFormat): string {
  return `copy "${table}" (${columns.map((column) => `"${column}"`).join(', ')}) from ${source}${format === 'binary' ? ' with (format binary)' : ''}`
}

export function postgresBulkWriter(client: Sql): BulkWriter {
  return {
    async transaction(work) {
      await client.begin(async (tx) => {
        const copy = async (table: string, columns: readonly string[], chunks: Iterable<string | Uint8Array>, format: CopyFormat) => {
          const stream = await tx.unsafe(copyStatement(table, columns, 'stdin', format)).writable()
          // `on`, not `once`: a dropped connection can error the stream again after our own abort,
          // and a stream error nobody listens to takes the process down.
          const failed = new Promise<never>((_, reject) => stream.on('error', reject))
          // The server can refuse the data (or the connection drop) while chunks are still being
          // written: that rejection is awaited below, and must not count as unhandled meanwhile.
          failed.catch(() => {})
          try {
            for (const chunk of chunks) {
              // One chunk on the wire at a time: a slow server must not make us hold every chunk
              // at once.
              await Promise.race([new Promise((resolve) => stream.write(chunk, resolve)), failed])
              // A write the socket took at once completes without leaving this turn: yield, so
              // the requests waiting meanwhile are served before the next chunk is built.
              await nextTurn()
            }
          } catch (error) {
            // Building a chunk failed (or the server already refused one): abort the COPY
            // (CopyFail) so the connection leaves copy mode and the transaction rolls back.
            stream.destroy(error as Error)
            throw error
          }
          // Nothing is pending, so end() sends CopyDone at once. From then on postgres.js
          // (3.4.9, porsager/postgres#1173) no longer tells the stream about a refusal: 'finish'
          // would never come. A query queued behind the COPY does learn of it, because it runs in
          // the transaction the refusal aborted; on success it is one pipelined round trip.
          const finished = new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())))
          try {
            await Promise.all([Promise.race([finished, failed]), tx.unsafe('select 1')])
          } catch (error) {
            throw new Error(`COPY into ${table} was refused`, { cause: error })
          }
        }
        await work({
          copy: (table, columns, chunks) => copy(table, columns, chunks, 'text'),
          copyBinary: (table, columns, chunks) => copy(table, columns, chunks, 'binary'),
          async execute(query) {
            const { sql, params } = query.toSQL()
            await tx.unsafe(sql, params as never[])
          },
        })
      })
    },
  }
}

/** PGlite reads COPY input from a Blob it exposes as /dev/blob. */
export function pgliteBulkWriter(client: PGlite): BulkWriter {
  return {
    async transaction(work) {
      await client.transaction(async (tx) => {
        const copy = async (table: string, columns: readonly string[], chunks: Iterable<string | Uint8Array>, format: CopyFormat) => {
          const parts: (string | Uint8Array)[] = []
          for (const chunk of chunks) {
            parts.push(chunk)
            await nextTurn()
          }
          await tx.query(copyStatement(table, columns, `'/dev/blob'`, format), [], { blob: new Blob(parts) })
        }
        await work({
          copy: (table, columns, chunks) => copy(table, columns, chunks, 'text'),
          copyBinary: (table, columns, chunks) => copy(table, columns, chunks, 'binary'),
          async execute(query) {
            const { sql, params } = query.toSQL()
            await tx.query(sql, params)
          },
        })
      })
    },
  }
}

const COPY_SPECIAL = /[\\\t\n\r\0]/
const COPY_SPECIALS = /[\\\t\n\r\0]/g
const COPY_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '' }

/**
 * A text value for COPY's text format: backslash, tab, newline and carriage return escaped, so a
 * value can never end its column or its row. NUL cannot be stored in PostgreSQL text: dropped.
 */
export function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, (char) => COPY_ESCAPES[char]!) : value
}

/** A field of a binary COPY row: its bytes as PostgreSQL's binary format has them. */
export const binaryField = {
  text: (value: string): Uint8Array => Buffer.from(value, 'utf8'),
  int4: (value: number): Uint8Array => {
    const bytes = Buffer.allocUnsafe(4)
    bytes.writeInt32BE(value)
    return bytes
  },
  bytea: (value: Uint8Array): Uint8Array => value,
}

const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')

/**
 * Rows (each a list of fields from `binaryField`, none null) as COPY's binary format, in one
 * buffer: the header (signature, flags, no extension), per row a field count and each field's
 * length and bytes, and the trailer. One buffer, one write: as separate small writes, Nagle's
 * algorithm and the server's delayed ACK held each COPY ~40 ms. For a bounded number of rows.
 */
export function binaryCopy(rows: Iterable<readonly Uint8Array[]>): Uint8Array[] {
  const parts: Uint8Array[] = [BINARY_SIGNATURE, Buffer.alloc(8)]
  for (const fields of rows) {
    const count = Buffer.allocUnsafe(2)
    count.writeInt16BE(fields.length)
    parts.push(count)
    for (const field of fields) {
      const length = Buffer.allocUnsafe(4)
      length.writeInt32BE(field.byteLength)
      parts.push(length, field)
    }
  }
  const trailer = Buffer.allocUnsafe(2)
  trailer.writeInt16BE(-1)
  parts.push(trailer)
  return [Buffer.concat(parts)]
}
