import type { EndReason } from './state-machine.js'

/**
 * The telephone network, as the call service sees it: it places a call and then reports what
 * happens — ringing, answered (by whom), ended (how). A real carrier reports through its callbacks;
 * the simulator (simulator.ts) knows its reports in advance. Either way the service stores the next
 * expected report with its due time in the call row (the durable timer) and applies each report as
 * a compare-and-set transition.
 */
export type CarrierReport =
  | { type: 'ringing' }
  | { type: 'answered'; answered_by: 'human' | 'voicemail' }
  | { type: 'ended'; status: 'completed' | 'busy' | 'no_answer' | 'failed'; reason: EndReason | null; opt_out?: boolean }

/** The platform's own first step: dial once the call holds a slot (a scheduled or waiting call). */
export type PendingAction = CarrierReport | { type: 'dial' }

/** An action and how long after the previous one it comes, in simulated seconds. */
export interface CarrierStep {
  action: PendingAction
  after_seconds: number
}

export interface PlacedCall {
  id: string
  to: string
  maxDurationSeconds: number
}

export interface Carrier {
  readonly name: string
  /** Dials `call`: the first report to expect. */
  place(call: PlacedCall): CarrierStep
  /** The report expected after `report`, or null when `report` ended the call. */
  next(call: PlacedCall, report: CarrierReport): CarrierStep | null
  /** Tells the network to drop the call (the service records the end itself). */
  hangup(call: PlacedCall): void
}
