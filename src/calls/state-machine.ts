/**
 * A call's life: scheduled → queued → ringing → in_progress → completed, with the exits the network
 * or the customer can take on the way. A transition not listed here is refused, so a call never
 * moves backwards, never skips a step (queued → in_progress without ringing), and never leaves a
 * terminal state.
 */
export const CALL_STATUSES = ['scheduled', 'queued', 'ringing', 'in_progress', 'completed', 'busy', 'no_answer', 'failed', 'canceled'] as const
export type CallStatus = (typeof CALL_STATUSES)[number]

export const LIVE_STATUSES = ['scheduled', 'queued', 'ringing', 'in_progress'] as const satisfies readonly CallStatus[]
export type LiveStatus = (typeof LIVE_STATUSES)[number]

export const END_REASONS = [
  'customer_hangup', 'agent_hangup', 'voicemail', 'max_duration', 'api_hangup', 'insufficient_credits', 'carrier_error', 'invalid_number', 'canceled',
] as const
export type EndReason = (typeof END_REASONS)[number]

export const ANSWERED_BY = ['human', 'voicemail', 'unknown'] as const
export type AnsweredBy = (typeof ANSWERED_BY)[number]

const MOVES: Record<CallStatus, readonly CallStatus[]> = {
  scheduled: ['queued', 'canceled'],
  queued: ['ringing', 'busy', 'failed', 'canceled'],
  ringing: ['in_progress', 'busy', 'no_answer', 'failed', 'canceled'],
  in_progress: ['completed', 'failed'],
  completed: [],
  busy: [],
  no_answer: [],
  failed: [],
  canceled: [],
}

export function isLive(status: CallStatus): status is LiveStatus {
  return (LIVE_STATUSES as readonly CallStatus[]).includes(status)
}

export function canMove(from: CallStatus, to: CallStatus): boolean {
  return MOVES[from].includes(to)
}

/** Thrown when a transition is not one of MOVES: a bug or a stale report, never applied. */
export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError'
  constructor(readonly from: CallStatus, readonly to: CallStatus) {
    super(`a call cannot move from ${from} to ${to}`)
  }
}

export function assertMove(from: CallStatus, to: CallStatus): void {
  if (!canMove(from, to)) throw new IllegalTransitionError(from, to)
}
