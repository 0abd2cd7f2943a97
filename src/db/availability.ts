import net from 'node:net'
import { Duplex } from 'node:stream'

/** Raised for a query that was not even tried: the database was known to be unreachable. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError'
  readonly code = 'DATABASE_UNAVAILABLE'
}

/**
 * Error codes that say "the database could not be reached", from Node's sockets, postgres.js, and
 * PostgreSQL itself (class 08: connection exception; 57P01–57P03: shutting down or starting up).
 * Anything else is a real error of the query and stays a 500.
 */
const UNREACHABLE_CODES = new Set([
  'DATABASE_UNAVAILABLE', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND',
  'EAI_AGAIN', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', '57P01', '57P02', '57P03',
])

/** True when `error`, or an error it wraps (drizzle wraps the driver's as `cause`), is an outage. */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/** How often the database is probed, and how long a probe may take before it counts as failed. */
export const PROBE_INTERVAL_MS = 250
export const PROBE_TIMEOUT_MS = 500
/**
 * A probe whose window held a longer stall of this process's own event loop proves nothing: its
 * query may have gone out late, or its answer been read late. Half the deadline: a partition is
 * still noticed by a process that is merely busy, as long as it gets a turn every 250 ms.
 */
const STALL_TOLERANCE_MS = PROBE_TIMEOUT_MS / 2

interface SocketOptions {
  host: string[]
  port: number[]
  path?: string | false
}

/**
 * Knows whether PostgreSQL is reachable, and makes an outage cost a client a prompt 503 instead of
 * a hung request. postgres.js has no client-side query deadline: a query on a connection whose
 * packets go nowhere (a network partition, a host gone dark) waits for TCP to give up, minutes
 * later. So every socket of the pool is made here (postgres.js's `socket` option) and tracked;
 * a probe on a connection of its own runs every 250 ms, and when it fails — or takes over 500 ms
 * while no pool socket received a byte either, so a merely busy database is not mistaken for a
 * dead one, nor this process's own stalled event loop for a database that does not answer —
 * every pool socket is destroyed (their queries fail at once) and new ones fail at once, until a
 * probe succeeds again: recovery within one probe interval.
 */
export class DatabaseAvailability {
  private readonly poolSockets = new Set<net.Socket>()
  private probeSocket: net.Socket | null = null
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private reachable = true

  constructor(private readonly onChange: (available: boolean, reason?: unknown) => void = () => {}) {}

  get available(): boolean {
    return this.reachable
  }

  /** postgres.js's `socket` option for the pool: a real connection while reachable, an instant failure while not. */
  readonly poolSocket = (options: SocketOptions): net.Socket | Duplex => {
    if (!this.reachable) return new RefusedSocket()
    const socket = connect(options)
    this.poolSockets.add(socket)
    socket.once('close', () => this.poolSockets.delete(socket))
    return socket
  }

  /** The probe's own socket factory: never gated, so the probe is what notices the database return. */
  readonly probeSocketFactory = (options: SocketOptions): net.Socket => {
    const socket = connect(options)
    this.probeSocket = socket
    socket.once('close', () => { if (this.probeSocket === socket) this.probeSocket = null })
    return socket
  }

  /** Starts probing with `probe` (a `select 1` on the probe's connection). */
  start(probe: () => Promise<unknown>): void {
    const tick = async () => {
      const before = this.bytesRead()
      const longestStall = watchLoopStalls()
      const outcome = await withDeadline(probe(), PROBE_TIMEOUT_MS)
      const stalledMs = longestStall()
      if (this.stopped) return
      if (outcome.ok) this.markReachable()
      else if (outcome.timedOut && (this.bytesRead() > before || stalledMs > STALL_TOLERANCE_MS)) {
        // The pool is hearing from the database (it is busy, not gone), or this process was too
        // busy to send the probe and read its answer in time. Start the probe afresh.
        destroySoon(this.probeSocket)
      } else {
        destroySoon(this.probeSocket)
        this.markUnreachable(outcome.error)
      }
      this.timer = setTimeout(() => void tick(), PROBE_INTERVAL_MS)
      this.timer.unref()
    }
    this.timer = setTimeout(() => void tick(), PROBE_INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private bytesRead(): number {
    let total = 0
    for (const socket of this.poolSockets) total += socket.bytesRead
    return total
  }

  private markUnreachable(reason: unknown): void {
    if (this.reachable) {
      this.reachable = false
      this.onChange(false, reason)
    }
    // Queries waiting on these would wait for TCP to give up: fail them now, and the clients with them.
    for (const socket of this.poolSockets) destroySoon(socket, new DatabaseUnavailableError('the database stopped answering'))
    this.poolSockets.clear()
  }

  private markReachable(): void {
    if (this.reachable) return
    this.reachable = true
    this.onChange(true)
  }
}

/**
 * Watches this process's event loop from now on, with a 20 ms timer, for the length of one probe
 * (~1 ms when the database answers; the timer runs only then). The returned function stops it and
 * says the longest the loop went without a turn: the timer's widest gap, or the gap still open.
 * (perf_hooks' monitorEventLoopDelay missed a stall that began in a microtask: its histogram never
 * recorded the 800 ms.)
 */
function watchLoopStalls(): () => number {
  let last = performance.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 20)
  timer.unref()
  return () => {
    clearInterval(timer)
    return Math.max(longest, performance.now() - last)
  }
}

/**
 * noDelay: postgres.js leaves Nagle's algorithm on, so a small write behind an unacknowledged one
 * (CopyDone after a COPY's data, a pipelined query after a large one) waited for the server's
 * delayed ACK: ~40 ms a staged import chunk. node-postgres turns it off too.
 */
function connect(options: SocketOptions): net.Socket {
  return guarded(options.path ? net.connect(options.path) : net.connect({ host: options.host[0] ?? '127.0.0.1', port: options.port[0] ?? 5432, noDelay: true }))
}

/**
 * Destroys a socket once the writes postgres.js already scheduled for this turn (setImmediate)
 * have run, so the driver sees a plain close rather than one racing its own write batching (the
 * races that patches/postgres+3.4.9.patch fixes; this keeps us off that path altogether).
 */
function destroySoon(socket: net.Socket | null, error?: Error): void {
  if (socket) setImmediate(() => socket.destroy(error))
}

/**
 * What the pool gets instead of a connection while the database is unreachable: it takes the
 * StartupMessage and fails it, so the query that asked for a connection is rejected at once with
 * DatabaseUnavailableError (a 503) — through the driver's ordinary write-error path.
 */
class RefusedSocket extends Duplex {
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    callback(new DatabaseUnavailableError('the database is unreachable'))
  }
}

/** postgres.js handles a socket's errors once it holds it; until then one must not crash the process. */
function guarded(socket: net.Socket): net.Socket {
  socket.on('error', () => {})
  return socket
}

type Outcome = { ok: true } | { ok: false; timedOut: boolean; error: unknown }

async function withDeadline(work: Promise<unknown>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<Outcome>((resolve) => {
    // After the event loop stalled (a long synchronous task, a starved CPU), this timer runs before
    // the poll phase reads an answer that arrived meanwhile: let I/O run once (setImmediate runs
    // after it) before calling it a timeout, or a busy process would take the database for dead.
    timer = setTimeout(() => setImmediate(() => resolve({ ok: false, timedOut: true, error: new DatabaseUnavailableError(`no answer within ${ms} ms`) })), ms)
  })
  try {
    return await Promise.race([work.then((): Outcome => ({ ok: true }), (error: unknown): Outcome => ({ ok: false, timedOut: false, error })), deadline])
  } finally {
    clearTimeout(timer)
  }
}
