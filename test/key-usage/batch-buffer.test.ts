import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { BatchBuffer, type BatchBufferOptions } from '../../src/usage/batch-buffer.js'

interface Harness {
  buffer: BatchBuffer<number>
  batches: number[][]
  warnings: { obj: object; msg?: string | undefined }[]
}

function harness(options: Partial<BatchBufferOptions<number>> = {}): Harness {
  const batches: number[][] = []
  const warnings: Harness['warnings'] = []
  const buffer = new BatchBuffer<number>({
    name: 'test',
    size: 3,
    maxAgeMs: 60_000,
    write: async (batch) => { batches.push(batch) },
    log: { warn: (obj, msg) => { warnings.push({ obj, msg }) } },
    ...options,
  })
  return { buffer, batches, warnings }
}

/** A promise with its resolver, to hold a write open for as long as a test needs. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {}
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}

t.test('flushes when `size` entries are pending, not before', async (t) => {
  const { buffer, batches } = harness({ size: 3 })
  buffer.push(1)
  buffer.push(2)
  await sleep(5)
  t.same(batches, [], 'two of three: nothing written yet')
  buffer.push(3)
  await sleep(0)
  t.same(batches, [[1, 2, 3]], 'the third entry forced a write of all three')
  t.same(buffer.stats, { pending: 0, dropped: 0, failed: 0, written: 3 })
  await buffer.close()
})

t.test('flushes when the oldest entry is maxAgeMs old', async (t) => {
  const { buffer, batches } = harness({ size: 100, maxAgeMs: 40 })
  buffer.push(1)
  await sleep(20)
  buffer.push(2)
  t.same(batches, [], 'younger than maxAgeMs: still buffered')
  await sleep(40)
  t.same(batches, [[1, 2]], 'written by age, the younger entry with it')
  // The timer is re-armed by the next entry, not left running on an empty buffer.
  buffer.push(3)
  await sleep(60)
  t.same(batches, [[1, 2], [3]])
  await buffer.close()
})

t.test('a stuck write: push stays synchronous, the buffer fills to 2 × size, then drops and counts', async (t) => {
  const never = new Promise<void>(() => {})
  let writes = 0
  const { buffer, warnings } = harness({ size: 2, write: () => { writes++; return never } })
  buffer.push(1)
  buffer.push(2) // starts a write that never finishes
  t.equal(writes, 1)
  const started = performance.now()
  const accepted: boolean[] = []
  for (let i = 0; i < 10_000; i++) accepted.push(buffer.push(100 + i))
  const elapsed = performance.now() - started
  t.same(accepted.slice(0, 4), [true, true, true, true], 'pending fills to the hard cap (2 × size) while the write hangs')
  t.ok(accepted.slice(4).every((ok) => ok === false), 'everything beyond it is refused')
  t.equal(typeof accepted[0], 'boolean', 'push returns a value, not a promise')
  t.same(buffer.stats, { pending: 4, dropped: 9_996, failed: 0, written: 0 })
  t.equal(writes, 1, 'one write in flight at a time: no pile-up on a stuck database')
  t.equal(warnings.length, 1, 'one warning for the whole drop episode, not one per entry')
  t.match(warnings[0]!.obj, { buffer: 'test', hardCap: 4 })
  t.ok(elapsed < 1_000, `10,000 pushes against a stuck writer returned at once (${elapsed.toFixed(1)} ms)`)
})

t.test('entries arriving during a write wait for the next batch; the drop episode ends when room returns', async (t) => {
  const gates = [gate(), gate()]
  const batches: number[][] = []
  const { buffer, warnings } = harness({
    size: 2,
    write: async (batch) => { batches.push(batch); await gates[batches.length - 1]?.promise },
  })
  buffer.push(1)
  buffer.push(2)
  for (const n of [3, 4, 5, 6, 7]) buffer.push(n)
  t.same(buffer.stats, { pending: 4, dropped: 1, failed: 0, written: 0 })
  gates[0]!.open()
  await sleep(0)
  t.same(batches, [[1, 2], [3, 4, 5, 6]], 'the due entries went out as soon as the first write finished')
  t.ok(buffer.push(8), 'room again: accepted')
  t.equal(warnings.length, 2, 'the end of the episode is reported once')
  t.match(warnings[1]!.obj, { dropped: 1 })
  gates[1]!.open()
  await buffer.close()
  t.same(batches, [[1, 2], [3, 4, 5, 6], [8]])
  t.same(buffer.stats, { pending: 0, dropped: 1, failed: 0, written: 7 })
})

t.test('close writes everything and stops the timer; flush waits for a write in flight', async (t) => {
  const held = gate()
  const batches: number[][] = []
  const { buffer } = harness({
    size: 1_000,
    maxAgeMs: 10,
    write: async (batch) => { batches.push(batch); if (batches.length === 1) await held.promise },
  })
  for (let i = 0; i < 10; i++) buffer.push(i)
  await sleep(30)
  t.equal(batches.length, 1, 'the age timer started a write')
  for (let i = 10; i < 15; i++) buffer.push(i)
  let closed = false
  const closing = buffer.close().then(() => { closed = true })
  await sleep(20)
  t.notOk(closed, 'close waits for the write in flight')
  held.open()
  await closing
  t.same(batches, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14]])
  t.same(buffer.stats, { pending: 0, dropped: 0, failed: 0, written: 15 })
  buffer.push(99)
  await sleep(30)
  t.equal(batches.length, 2, 'no timer after close: a late entry waits for the next flush')
  await buffer.flush()
  t.same(batches.at(-1), [99])
})

t.test('a failed write is logged, counted and dropped; it never throws to the caller', async (t) => {
  let fail = true
  const batches: number[][] = []
  const { buffer, warnings } = harness({
    size: 3,
    write: async (batch) => {
      if (fail) throw new Error('connection refused')
      batches.push(batch)
    },
  })
  t.doesNotThrow(() => { buffer.push(1); buffer.push(2); buffer.push(3) })
  await t.resolves(buffer.flush())
  t.same(buffer.stats, { pending: 0, dropped: 0, failed: 3, written: 0 })
  t.equal(warnings.length, 1)
  t.match(warnings[0], { obj: { entries: 3, failedTotal: 3 }, msg: /write failed/ })
  t.ok((warnings[0]!.obj as { err?: unknown }).err instanceof Error)
  fail = false
  buffer.push(4)
  await buffer.close()
  t.same(batches, [[4]], 'the failed batch is not retried; later ones are written')
  t.same(buffer.stats, { pending: 0, dropped: 0, failed: 3, written: 1 })
})

t.test('a writer that throws synchronously is handled the same way', async (t) => {
  const { buffer } = harness({ size: 1, write: () => { throw new Error('boom') } })
  t.doesNotThrow(() => buffer.push(1))
  await buffer.flush()
  t.equal(buffer.stats.failed, 1)
})

t.test('size must be positive', async (t) => {
  t.throws(() => harness({ size: 0 }), RangeError)
})
