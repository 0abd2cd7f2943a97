import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'

/** Changes that other instances must hear about within a second to drop cached state. */
export type CacheEvent =
  | { type: 'key.changed'; keyId: string; accountId: string }
  | { type: 'account.changed'; accountId: string }
  /** A client address crossed the failed-authentication limit; refuse it everywhere until `until` (epoch ms). */
  | { type: 'client.blocked'; bucket: string; until: number }
  /** Local only: this instance may have missed events (its channel was down); drop every cached copy. */
  | { type: 'cache.reset' }

/**
 * The cache bus: changes every instance must hear about within a second to drop cached state
 * (keys, accounts, blocked clients). Not the customer-event outbox (src/outbox): nothing here is
 * durable or customer-visible.
 */
export interface CacheBus {
  /** Delivered to this instance's subscribers at once, and to every other instance. */
  publish(event: CacheEvent): Promise<void>
  subscribe(handler: (event: CacheEvent) => void): void
  close(): Promise<void>
}

/** Single-process bus: used when there is no Redis (one instance only). */
export class LocalCacheBus implements CacheBus {
  private readonly emitter = new EventEmitter()

  async publish(event: CacheEvent): Promise<void> {
    this.emitter.emit('event', event)
  }

  subscribe(handler: (event: CacheEvent) => void): void {
    this.emitter.on('event', handler)
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners()
  }
}

/**
 * Redis pub/sub bus. Local subscribers hear an event synchronously (read-your-writes on the
 * instance that made the change); messages echoed back from Redis with our own origin are skipped.
 */
export class RedisCacheBus implements CacheBus {
  private readonly local = new LocalCacheBus()
  private readonly origin = randomUUID()
  /** Publishes not yet answered by Redis; close() waits for them (callers may not await publish). */
  private readonly inFlight = new Set<Promise<void>>()

  constructor(private readonly publisher: Redis, private readonly subscriber: Redis, private readonly channel: string, private readonly onError: (error: unknown) => void) {
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return
      try {
        const { origin, event } = JSON.parse(message) as { origin: string; event: CacheEvent }
        if (origin !== this.origin) void this.local.publish(event)
      } catch (error) {
        onError(error)
      }
    })
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel)
    // We resubscribe ourselves (the client is built with autoResubscribe off): ioredis's own
    // resubscription leaves its SUBSCRIBE promise unhandled, so a connection that drops again while
    // reconnecting crashed the process with an unhandled rejection. Whatever was published while
    // the channel was down is lost, so once it is back every cached copy on this instance goes.
    this.subscriber.on('ready', () => {
      this.subscriber.subscribe(this.channel).then(() => this.local.publish({ type: 'cache.reset' }), this.onError)
    })
  }

  publish(event: CacheEvent): Promise<void> {
    const delivery = this.deliver(event)
    this.inFlight.add(delivery)
    void delivery.finally(() => this.inFlight.delete(delivery))
    return delivery
  }

  private async deliver(event: CacheEvent): Promise<void> {
    await this.local.publish(event)
    try {
      await this.publisher.publish(this.channel, JSON.stringify({ origin: this.origin, event }))
    } catch (error) {
      // Other instances fall back to their cache TTL; the change itself is already committed.
      this.onError(error)
    }
  }

  subscribe(handler: (event: CacheEvent) => void): void {
    this.local.subscribe(handler)
  }

  /**
   * Waits for publishes still on their way. The cache-bus plugin closes before the Redis plugin
   * (onClose hooks run last-registered first), so a change made just before shutdown, by the CLI
   * for one, still reaches the other instances.
   */
  async close(): Promise<void> {
    await Promise.all(this.inFlight)
    await this.local.close()
  }
}
