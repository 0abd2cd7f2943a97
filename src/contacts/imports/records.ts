import { Readable } from 'node:stream'
import { parse } from 'csv-parse'

/**
 * The rows of an uploaded file, read back from its staged chunks one at a time (never the whole
 * file in memory): CSV through csv-parse (quoted fields may hold commas and line breaks), NDJSON one
 * line at a time. A row is numbered from 1, the CSV header not counted.
 */

export type RawRecord =
  | { row: number; kind: 'csv'; values: string[] }
  | { row: number; kind: 'json'; value: unknown }
  | { row: number; kind: 'unreadable'; message: string }

export interface CsvFile {
  header: string[]
  records: AsyncIterable<RawRecord>
}

/** Raised for a file that cannot be read any further (a CSV syntax error): the import fails. */
export class UnreadableFileError extends Error {
  override readonly name = 'UnreadableFileError'
}

export async function readCsv(chunks: AsyncIterable<Uint8Array>): Promise<CsvFile> {
  const parser = Readable.from(chunks).pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: true }))
  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<string[]>
  const first = await next(iterator)
  const header = first.done ? [] : first.value
  return {
    header,
    records: {
      async *[Symbol.asyncIterator]() {
        let row = 0
        for (;;) {
          const item = await next(iterator)
          if (item.done) return
          yield { row: ++row, kind: 'csv', values: item.value }
        }
      },
    },
  }
}

async function next(iterator: AsyncIterator<string[]>): Promise<IteratorResult<string[]>> {
  try {
    return await iterator.next()
  } catch (error) {
    throw new UnreadableFileError(`the CSV cannot be read: ${(error as Error).message}`)
  }
}

export async function* readNdjson(chunks: AsyncIterable<Uint8Array>): AsyncIterable<RawRecord> {
  const decoder = new TextDecoder()
  let pending = ''
  let row = 0
  const line = (text: string): RawRecord | undefined => {
    const trimmed = text.trim()
    if (trimmed === '') return undefined
    row++
    try {
      return { row, kind: 'json', value: JSON.parse(trimmed) as unknown }
    } catch {
      return { row, kind: 'unreadable', message: 'is not a JSON object' }
    }
  }
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true })
    let newline = pending.indexOf('\n')
    while (newline !== -1) {
      const record = line(pending.slice(0, newline))
      if (record) yield record
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
    }
  }
  pending += decoder.decode()
  const last = line(pending)
  if (last) yield last
}
