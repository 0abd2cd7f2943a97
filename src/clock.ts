/**
 * Where services take the time from. Injected, so tests drive time instead of sleeping: call
 * timers, retry schedules, expiry windows and pruning all ask the clock, never `new Date()`.
 */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

/** A clock that moves only when told to (tests). */
export class ManualClock implements Clock {
  private ms: number

  constructor(start: Date | number = Date.now()) {
    this.ms = typeof start === 'number' ? start : start.getTime()
  }

  now(): Date {
    return new Date(this.ms)
  }

  advance(ms: number): Date {
    this.ms += ms
    return this.now()
  }

  set(instant: Date | number): void {
    this.ms = typeof instant === 'number' ? instant : instant.getTime()
  }
}
