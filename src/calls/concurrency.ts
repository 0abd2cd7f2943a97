import type { ServiceContext } from '../service-context.js'

/** The account's concurrent-call slots: a read-only view of the calls group's own bookkeeping. */
export class ConcurrencyService {
  constructor(private readonly context: ServiceContext) {}

  get(accountId: string) {
    return this.context.services.calls.concurrency(accountId)
  }
}

declare module '../service-context.js' {
  interface ServiceRegistry {
    concurrency: ConcurrencyService
  }
}

