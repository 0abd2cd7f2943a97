import { events } from '../db/schema/index.js'
import type { Executor } from '../db/executor.js'
import { newId } from '../ids.js'

/** A customer-visible event: what webhooks will deliver and `GET /api/v1/events` will list. */
export interface OutboxEvent {
  accountId: string
  /** e.g. `alert.created`, `contact.import.completed`, `call.ended`. */
  type: string
  /** The public JSON exactly as it will be delivered. */
  payload: unknown
  createdAt?: Date
}

/**
 * Appends an event to the customer-event outbox. Always inside the transaction of the change it
 * announces: the event exists exactly when the change does, so a delivery can never announce a
 * change that rolled back, nor miss one that committed.
 */
export async function appendEvent(tx: Executor, event: OutboxEvent): Promise<string> {
  const id = newId('event')
  await tx.insert(events).values({
    id, accountId: event.accountId, type: event.type, payload: event.payload,
    ...(event.createdAt ? { createdAt: event.createdAt } : {}),
  })
  return id
}
