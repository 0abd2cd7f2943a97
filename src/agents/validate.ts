import { parsePhoneNumberWithError } from 'libphonenumber-js'
import type { FieldError } from '../errors.js'
import type { AgentConfig, Flow } from './config.js'

/**
 * Everything about an agent's configuration a schema cannot say, checked whole: every problem is
 * reported (not just the first), each with a JSON pointer into the document: `base` locates the
 * configuration (`/body` in a request, `/agent` in an import document), `flowBase` its flow (an
 * import document carries the flow beside the agent).
 */

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g
const WEBHOOK_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']

/** The `{{name}}` placeholders of a text, each with the name between the braces (trimmed). */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => match[1]!)
}

export function validateAgentConfig(config: AgentConfig, where: { base: string; flowBase: string }): FieldError[] {
  const errors: FieldError[] = []
  const at = (pointer: string, message: string) => errors.push({ field: `${where.base}${pointer}`, message })
  const atFlow = (pointer: string, message: string) => errors.push({ field: `${where.flowBase}${pointer}`, message })

  try {
    Intl.getCanonicalLocales(config.language)
  } catch {
    at('/language', `"${config.language}" is not a well-formed BCP 47 language tag`)
  }

  const declared = new Set<string>()
  config.variables.forEach((variable, index) => {
    if (declared.has(variable.name)) at(`/variables/${index}/name`, `duplicate variable "${variable.name}"`)
    declared.add(variable.name)
  })
  const checkText = (report: Report, pointer: string, text: string | undefined) => {
    if (text === undefined) return
    for (const name of placeholders(text)) {
      if (!declared.has(name)) report(pointer, `{{${name}}} names no declared variable`)
    }
  }
  checkText(at, '/first_message', config.first_message)
  checkText(at, '/system_prompt', config.system_prompt)
  checkText(at, '/voicemail/message', config.voicemail.message)
  if (config.voicemail.action === 'leave_message' && !config.voicemail.message) at('/voicemail/message', 'is required when the action is leave_message')
  if (config.voicemail.action === 'hangup' && config.voicemail.message !== undefined) at('/voicemail/message', 'is only for the leave_message action')

  if (config.flow) validateFlow(config.flow, declared, atFlow, (pointer, text) => checkText(atFlow, pointer, text))
  return errors
}

type Report = (pointer: string, message: string) => void
type CheckText = (pointer: string, text: string | undefined) => void

function validateFlow(flow: Flow, declared: ReadonlySet<string>, at: Report, checkText: CheckText): void {
  const nodes = new Map<string, number>()
  flow.nodes.forEach((node, index) => {
    if (nodes.has(node.id)) at(`/nodes/${index}/id`, `duplicate node id "${node.id}"`)
    else nodes.set(node.id, index)
    validateNodeData(node, `/nodes/${index}/data`, at, checkText)
  })
  const edgeIds = new Set<string>()
  const outgoing = new Map<string, string[]>()
  flow.edges.forEach((edge, index) => {
    if (edgeIds.has(edge.id)) at(`/edges/${index}/id`, `duplicate edge id "${edge.id}"`)
    edgeIds.add(edge.id)
    if (!nodes.has(edge.source)) at(`/edges/${index}/source`, `no node "${edge.source}"`)
    if (!nodes.has(edge.target)) at(`/edges/${index}/target`, `no node "${edge.target}"`)
    if (nodes.has(edge.source) && nodes.has(edge.target)) outgoing.set(edge.source, [...(outgoing.get(edge.source) ?? []), edge.target])
    validateCondition(edge.condition, `/edges/${index}/condition`, declared, at)
  })

  if (!nodes.has(flow.start_node_id)) {
    at('/start_node_id', `no node "${flow.start_node_id}"`)
    return
  }
  // Reachability from the start, breadth first.
  const reached = new Set([flow.start_node_id])
  const queue = [flow.start_node_id]
  while (queue.length > 0) {
    for (const next of outgoing.get(queue.shift()!) ?? []) {
      if (!reached.has(next)) {
        reached.add(next)
        queue.push(next)
      }
    }
  }
  let endReachable = false
  flow.nodes.forEach((node, index) => {
    if (nodes.get(node.id) !== index) return
    const out = flow.edges.filter((edge) => edge.source === node.id).length
    if (!reached.has(node.id)) at(`/nodes/${index}`, `node "${node.id}" is unreachable from the start node`)
    else if (node.type === 'end') endReachable = true
    if (node.type === 'decision' && out < 2) at(`/nodes/${index}`, `decision "${node.id}" needs at least two outgoing edges (has ${out})`)
    if (node.type === 'end' && out > 0) at(`/nodes/${index}`, `end node "${node.id}" has outgoing edges`)
  })
  if (!endReachable) at('', 'no end node is reachable from the start node')
}

function validateNodeData(node: Flow['nodes'][number], pointer: string, at: Report, checkText: CheckText): void {
  const data = node.data
  const allowed: Record<Flow['nodes'][number]['type'], string[]> = {
    conversation: ['prompt'], decision: ['description'], transfer: ['to'], webhook: ['url', 'method'], end: ['reason'],
  }
  for (const key of Object.keys(data)) {
    if (!allowed[node.type].includes(key)) at(`${pointer}/${key}`, `is not a field of a ${node.type} node`)
  }
  const text = (key: string, required: boolean, max: number): string | undefined => {
    const value = data[key]
    if (value === undefined) {
      if (required) at(`${pointer}/${key}`, 'is required')
      return undefined
    }
    if (typeof value !== 'string' || value.length === 0 || value.length > max) {
      at(`${pointer}/${key}`, `must be a string of 1 to ${max} characters`)
      return undefined
    }
    return value
  }
  switch (node.type) {
    case 'conversation':
      checkText(`${pointer}/prompt`, text('prompt', true, 5_000))
      break
    case 'decision':
      text('description', false, 500)
      break
    case 'end':
      text('reason', false, 200)
      break
    case 'transfer': {
      const to = text('to', true, 32)
      if (to !== undefined && !isE164(to)) at(`${pointer}/to`, 'must be a phone number in E.164 (+14155550123)')
      break
    }
    case 'webhook': {
      const url = text('url', true, 2_048)
      if (url !== undefined) {
        let parsed: URL | undefined
        try {
          parsed = new URL(url)
        } catch {
          parsed = undefined
        }
        if (!parsed || parsed.protocol !== 'https:' || parsed.username || parsed.password) at(`${pointer}/url`, 'must be an https URL without credentials')
      }
      const method = text('method', true, 10)
      if (method !== undefined && !WEBHOOK_METHODS.includes(method)) at(`${pointer}/method`, `must be one of ${WEBHOOK_METHODS.join(', ')}`)
      break
    }
  }
}

function validateCondition(condition: Flow['edges'][number]['condition'], pointer: string, declared: ReadonlySet<string>, at: Report): void {
  const keys = Object.keys(condition).filter((key) => key !== 'type')
  const expected = { intent: ['description'], equals: ['variable', 'value'], always: [] as string[] }[condition.type]
  for (const key of keys) if (!expected.includes(key)) at(`${pointer}/${key}`, `is not part of an ${condition.type} condition`)
  for (const key of expected) if ((condition as Record<string, unknown>)[key] === undefined) at(`${pointer}/${key}`, `is required for an ${condition.type} condition`)
  if (condition.type === 'equals' && condition.variable !== undefined && !declared.has(condition.variable)) {
    at(`${pointer}/variable`, `"${condition.variable}" is not a declared variable`)
  }
}

export function isE164(value: string): boolean {
  if (!/^\+[1-9]\d{6,14}$/.test(value)) return false
  try {
    const parsed = parsePhoneNumberWithError(value)
    return parsed.number === value && parsed.isValid()
  } catch {
    return false
  }
}
