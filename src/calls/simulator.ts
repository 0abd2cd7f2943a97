import type { Carrier, CarrierReport, CarrierStep, PlacedCall } from './carrier.js'
import { Seeded } from './seeded.js'

/**
 * The embedded carrier: no phone ever rings. Like a payment API's test cards, the North American
 * numbers reserved for fiction (+1 NXX 555 0100–0199, any area code) behave exactly as documented,
 * with exact simulated durations; any other number behaves like a realistic mix of outcomes, seeded
 * by the call id. The whole timeline follows from the call, so nothing but the next step needs
 * storing, and a resumed call continues the same timeline.
 */
export const TEST_NUMBER = /^\+1[2-9]\d{2}5550(1\d{2})$/

type Step = { report: CarrierReport; after: number }

const ring = (after = 0): Step => ({ report: { type: 'ringing' }, after })
const answer = (after: number, by: 'human' | 'voicemail' = 'human'): Step => ({ report: { type: 'answered', answered_by: by }, after })
const end = (after: number, status: 'completed' | 'busy' | 'no_answer' | 'failed', reason: Extract<CarrierReport, { type: 'ended' }>['reason'], optOut = false): Step =>
  ({ report: { type: 'ended', status, reason, ...(optOut ? { opt_out: true } : {}) }, after })

/** A conversation that would run past the call's limit ends at the limit. */
function talk(after: number, reason: 'agent_hangup' | 'customer_hangup', max: number, optOut = false): Step {
  return after >= max ? end(max, 'completed', 'max_duration') : end(after, 'completed', reason, optOut)
}

/** The documented test numbers, by line (0100–0199). Lines 0109–0199 answer like 0100. */
function testTimeline(line: number, max: number): Step[] {
  switch (line) {
    case 101: return [end(1, 'busy', null)]
    case 102: return [ring(), end(30, 'no_answer', null)]
    case 103: return [ring(), answer(3, 'voicemail'), end(8, 'completed', 'voicemail')]
    case 104: return [end(0, 'failed', 'invalid_number')]
    case 105: return [ring(), answer(2), talk(5, 'customer_hangup', max)]
    case 106: return [ring(), answer(2), end(max, 'completed', 'max_duration')]
    case 107: return [ring(), end(2, 'failed', 'carrier_error')]
    case 108: return [ring(), answer(2), talk(6, 'customer_hangup', max, true)]
    default: return [ring(), answer(2), talk(30, 'agent_hangup', max)]
  }
}

/** Any other number: most answer, some go to voicemail, some never do. Seeded by the call id. */
function realisticTimeline(id: string, max: number): Step[] {
  const random = new Seeded(`carrier:${id}`)
  const roll = random.next()
  const rings = random.int(2, 12)
  if (roll < 0.6) return [ring(), answer(rings), talk(random.int(20, 240), random.next() < 0.65 ? 'agent_hangup' : 'customer_hangup', max)]
  if (roll < 0.72) return [ring(), answer(rings + 10, 'voicemail'), end(Math.min(random.int(6, 20), max), 'completed', 'voicemail')]
  if (roll < 0.84) return [ring(), end(30, 'no_answer', null)]
  if (roll < 0.93) return [end(random.int(1, 4), 'busy', null)]
  if (roll < 0.97) return [ring(), end(rings, 'failed', 'carrier_error')]
  return [ring(), answer(rings), talk(random.int(3, 15), 'customer_hangup', max)]
}

export function simulatedTimeline(call: PlacedCall): CarrierStep[] {
  const test = TEST_NUMBER.exec(call.to)
  const steps = test ? testTimeline(Number(test[1]), call.maxDurationSeconds) : realisticTimeline(call.id, call.maxDurationSeconds)
  return steps.map((step) => ({ action: step.report, after_seconds: step.after }))
}

export class SimulatedCarrier implements Carrier {
  readonly name = 'simulator'

  place(call: PlacedCall): CarrierStep {
    return simulatedTimeline(call)[0]!
  }

  next(call: PlacedCall, report: CarrierReport): CarrierStep | null {
    const steps = simulatedTimeline(call)
    const index = steps.findIndex((step) => step.action.type === report.type)
    return index >= 0 ? steps[index + 1] ?? null : null
  }

  hangup(): void {
    // Nothing rings: the simulated network simply forgets the call.
  }
}
