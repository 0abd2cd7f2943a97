import type { Config } from './config.js'
import type { Clock } from './clock.js'
import type { Database, DatabaseHandle } from './db/client.js'
import type { CacheBus } from './cache-bus.js'
import type { JobQueue } from './jobs/queue.js'
import type { JobScheduler } from './jobs/scheduler.js'
import type { IdempotencyStore } from './idempotency/store.js'

/**
 * Every group's service, by group name. Empty here: each `src/<group>/service.ts` adds its own
 * entry (declaration merging), so the registry's type is written where the service is.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ServiceRegistry {}

export interface ServiceLog {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/**
 * What a service is built from — once, at start, by the services plugin — and never anything
 * else: no Fastify, no request. Time comes from `clock`, durable background work goes to `queue`,
 * periodic work to `scheduler`, cache invalidation to `cacheBus`, other groups are reached through
 * `services`.
 */
export interface ServiceContext {
  db: Database
  /** The database handle itself, for bulk writes (COPY) and the driver kind. */
  database: DatabaseHandle
  config: Config
  clock: Clock
  log: ServiceLog
  cacheBus: CacheBus
  /** Idempotency keys, for a create that must claim one inside its own transaction (streamed uploads). */
  idempotency: IdempotencyStore
  queue: JobQueue
  /** Periodic work (detectors, pruning): every instance ticks, one runs each tick (advisory lock). */
  scheduler: JobScheduler
  /** Aborted when the instance begins to stop: long jobs end at their next batch boundary (and resume elsewhere). */
  stopping: AbortSignal
  /** Filled in as the registry is built; read it when a method runs, not in a constructor. */
  services: ServiceRegistry
}
