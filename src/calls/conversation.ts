import type { AgentConfig, Flow } from '../agents/config.js'
import type { CallAnalysis, TranscriptEntry } from '../db/schema/index.js'
import type { EndReason } from './state-machine.js'
import { Seeded } from './seeded.js'

/**
 * What was said on a simulated call: the agent opens with its first message (variables filled in)
 * and walks its flow from the start node to an `end` node; the customer answers in kind. The path
 * is chosen by the flow's conditions (`equals` on the call's variables, `always`, and for `intent`
 * a seeded pick), so the same call always says the same thing. Lines are spread over the talk time,
 * and a call cut short keeps only what was said before the cut.
 */
export interface ConversationInput {
  callId: string
  config: AgentConfig
  variables: Record<string, string>
  answeredBy: 'human' | 'voicemail'
  /** What the call would have lasted (talk seconds) had nothing cut it. */
  plannedSeconds: number
  /** What it did last. */
  billableSeconds: number
  endReason: EndReason
  optOut: boolean
}

const CUSTOMER_LINES = ['Sure, go ahead.', 'Okay.', 'That works for me.', 'Can you tell me more?', 'Yes, that sounds right.', 'I see.']

export function fill(template: string, variables: Record<string, string>): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => variables[name] ?? '')
}

/** The nodes a call passes from the start to an end node (or until a node repeats). */
export function walkFlow(flow: Flow, variables: Record<string, string>, random: Seeded): string[] {
  const byId = new Map(flow.nodes.map((node) => [node.id, node]))
  const path: string[] = []
  let current = byId.get(flow.start_node_id)
  while (current && !path.includes(current.id)) {
    path.push(current.id)
    if (current.type === 'end') break
    const out = flow.edges.filter((edge) => edge.source === current!.id)
    const taken = out.find((edge) => edge.condition.type === 'equals' && edge.condition.variable !== undefined && variables[edge.condition.variable] === edge.condition.value)
      ?? (out.some((edge) => edge.condition.type === 'intent') ? random.pick(out.filter((edge) => edge.condition.type === 'intent')) : undefined)
      ?? out.find((edge) => edge.condition.type === 'always')
      ?? out[0]
    current = taken ? byId.get(taken.target) : undefined
  }
  return path
}

export function converse(input: ConversationInput): { transcript: TranscriptEntry[]; analysis: CallAnalysis } {
  const { config, variables } = input
  const random = new Seeded(`conversation:${input.callId}`)
  const lines: { role: 'agent' | 'customer'; text: string }[] = []
  let path: string[] = []

  if (input.answeredBy === 'voicemail') {
    if (config.voicemail.action === 'leave_message' && config.voicemail.message) lines.push({ role: 'agent', text: fill(config.voicemail.message, variables) })
  } else {
    lines.push({ role: 'agent', text: fill(config.first_message, variables) })
    lines.push({ role: 'customer', text: random.pick(CUSTOMER_LINES) })
    if (config.flow) {
      path = walkFlow(config.flow, variables, random)
      for (const id of path) {
        const node = config.flow.nodes.find((candidate) => candidate.id === id)!
        if (node.type === 'conversation') {
          lines.push({ role: 'agent', text: fill(String(node.data.prompt ?? ''), variables) })
          lines.push({ role: 'customer', text: random.pick(CUSTOMER_LINES) })
        } else if (node.type === 'transfer') {
          lines.push({ role: 'agent', text: `Let me transfer you to ${String(node.data.to ?? 'a colleague')}.` })
        } else if (node.type === 'webhook') {
          lines.push({ role: 'agent', text: 'One moment while I check that for you.' })
        }
      }
    } else {
      lines.push({ role: 'agent', text: 'How can I help you today?' }, { role: 'customer', text: random.pick(CUSTOMER_LINES) })
    }
    if (input.optOut) {
      lines.push({ role: 'customer', text: 'Please take me off your list and never call me again.' })
      lines.push({ role: 'agent', text: 'Understood. You will not be called again. Goodbye.' })
    } else if (input.endReason === 'customer_hangup') {
      lines.push({ role: 'customer', text: 'Sorry, I have to go now.' })
    } else {
      lines.push({ role: 'agent', text: 'Thank you for your time. Goodbye!' })
    }
  }

  // Spread over the planned talk time; keep what was said before the call actually ended.
  const spanMs = input.plannedSeconds * 1000
  const transcript = lines
    .map((line, i) => ({ ...line, t_offset_ms: lines.length <= 1 ? 0 : Math.round((i * spanMs * 0.9) / (lines.length - 1)) }))
    .filter((entry) => entry.t_offset_ms < Math.max(1, input.billableSeconds * 1000))
  return { transcript, analysis: analyse(input, path, transcript.length < lines.length) }
}

function analyse(input: ConversationInput, path: string[], cut: boolean): CallAnalysis {
  const extracted: Record<string, unknown> = { answered_by: input.answeredBy, flow_path: path, reached_end: !cut && path.length > 0 && input.config.flow?.nodes.find((node) => node.id === path.at(-1))?.type === 'end' }
  if (input.optOut) return { summary: 'The contact asked never to be called again; they are now marked do-not-call.', outcome: 'opt_out', extracted }
  if (input.answeredBy === 'voicemail') {
    return { summary: input.config.voicemail.action === 'leave_message' ? 'Voicemail answered; the agent left its message.' : 'Voicemail answered; the agent hung up.', outcome: 'unknown', extracted }
  }
  const route = path.length > 0 ? ` following the flow ${path.join(' → ')}` : ''
  switch (input.endReason) {
    case 'agent_hangup': return { summary: `A person answered and the agent completed the conversation${route}.`, outcome: 'success', extracted }
    case 'customer_hangup': return { summary: `A person answered and hung up before the conversation finished${route}.`, outcome: 'failure', extracted }
    case 'max_duration': return { summary: `The call reached its maximum duration${route}.`, outcome: 'unknown', extracted }
    case 'api_hangup': return { summary: `The call was hung up through the API${route}.`, outcome: 'unknown', extracted }
    case 'insufficient_credits': return { summary: `The call was cut when the account's credit ran out${route}.`, outcome: 'unknown', extracted }
    default: return { summary: `The call ended (${input.endReason})${route}.`, outcome: 'unknown', extracted }
  }
}
