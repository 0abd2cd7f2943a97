export interface BatchBufferLogger {
  warn(obj: object, msg?: string): void
}

export interface BatchBufferOptions<T> {
  /** Names the buffer in log lines. */
  name: string
  /** Pending entries that force a flush. */
  size: number
  /** Longest an entry waits before a flush is forced, in milliseconds. */
  maxAgeMs: number
  /** Pending entries beyond which new ones are dropped; 2 × size by default. */
  hardCap?: number
  /** Writes one batch. A rejection loses that batch (counted and logged); it is never retried. */
  write(batch: T[]): Promise<void>
  log: BatchBufferLogger
}

export interface BatchBufferStats {
  /** Entries accepted and not yet handed to `write`. */
  pending: number
  /** Entries refused because the buffer was full. */
  dropped: number
  /** Entries lost with a batch whose write failed. */
  failed: number
  /** Entries in batches written successfully. */
  written: number
}

/**
 * Collects entries on the request path and writes them in batches off it. `push` is synchronous
 * and never waits: when the store is slow or down, the buffer fills to its hard cap and further
 * entries are dropped and counted — losing bookkeeping is preferred to slowing requests.
 *
 * One write is in flight at a time, so a struggling database sees one batch per instance instead
 * of a pile-up; entries arriving meanwhile keep buffering and go in the next batch. A batch is
 * everything pending when it is taken, so it is never larger than the hard cap.
 */
export class BatchBuffer<T> {
  private pending: T[] = []
  /** When the oldest pending entry arrived. */
  private oldestAt = 0
  private timer: NodeJS.Timeout | null = null
  private inFlight: Promise<void> | null = null
  private closed = false
  private dropping = false
  private droppedThisEpisode = 0
  private readonly hardCap: number
  private readonly counters = { dropped: 0, failed: 0, written: 0 }

  constructor(private readonly options: BatchBufferOptions<T>) {
    if (options.size < 1) throw new RangeError('BatchBuffer size must be at least 1')
    this.hardCap = options.hardCap ?? options.size * 2
  }

  /** Accepts an entry, or drops it when the buffer is full. Returns whether it was accepted. */
  push(entry: T): boolean {
    if (this.pending.length >= this.hardCap) {
      this.counters.dropped++
      this.droppedThisEpisode++
      if (!this.dropping) {
        this.dropping = true
        this.options.log.warn({ buffer: this.options.name, hardCap: this.hardCap, droppedTotal: this.counters.dropped },
          'usage buffer full: dropping entries until the writer catches up')
      }
      return false
    }
    if (this.dropping) {
      this.dropping = false
      this.options.log.warn({ buffer: this.options.name, dropped: this.droppedThisEpisode, droppedTotal: this.counters.dropped },
        'usage buffer accepting entries again')
      this.droppedThisEpisode = 0
    }
    this.pending.push(entry)
    if (this.pending.length === 1) {
      this.oldestAt = Date.now()
      this.armTimer(this.options.maxAgeMs)
    }
    if (this.pending.length >= this.options.size) this.startWrite()
    return true
  }

  /** Resolves once every entry accepted so far has been written (or its batch has failed). */
  async flush(): Promise<void> {
    while (this.inFlight || this.pending.length > 0) {
      if (!this.inFlight) this.startWrite()
      await this.inFlight
    }
  }

  /** Stops the age timer and writes everything. Entries pushed afterwards wait for the next flush/close. */
  async close(): Promise<void> {
    this.closed = true
    this.clearTimer()
    await this.flush()
  }

  get stats(): BatchBufferStats {
    return { pending: this.pending.length, ...this.counters }
  }

  private startWrite(): void {
    if (this.inFlight || this.pending.length === 0) return
    this.clearTimer()
    const batch = this.pending
    this.pending = []
    this.inFlight = this.writeBatch(batch).finally(() => {
      this.inFlight = null
      this.afterWrite()
    })
  }

  private async writeBatch(batch: T[]): Promise<void> {
    try {
      await this.options.write(batch)
      this.counters.written += batch.length
    } catch (error) {
      this.counters.failed += batch.length
      this.options.log.warn({ err: error, buffer: this.options.name, entries: batch.length, failedTotal: this.counters.failed },
        'usage batch write failed; batch dropped')
    }
  }

  /** Entries that arrived during the write: write now if they are due, else wait for their age. */
  private afterWrite(): void {
    if (this.pending.length === 0) return
    const age = Date.now() - this.oldestAt
    if (this.pending.length >= this.options.size || age >= this.options.maxAgeMs) this.startWrite()
    else this.armTimer(this.options.maxAgeMs - age)
  }

  private armTimer(delayMs: number): void {
    if (this.closed || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.startWrite()
    }, delayMs)
    this.timer.unref()
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}
