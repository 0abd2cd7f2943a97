import type { FastifyInstance } from 'fastify'
import { call } from './app.js'

/**
 * Test resources made through the API, as a customer would make them. Each returns the created
 * object; overrides replace fields of a minimal valid body.
 */

export function agentBody(overrides: Record<string, unknown> = {}) {
  return {
    name: 'Reminder',
    language: 'en-US',
    voice: { provider: 'elevenlabs', voice_id: 'rachel' },
    first_message: 'Hello {{first_name}}, this is a reminder.',
    system_prompt: 'You remind people of appointments.',
    variables: [{ name: 'first_name', default: 'there' }],
    ...overrides,
  }
}

/** A flow that passes validation: greet → (yes) confirm end, (otherwise) goodbye end. */
export function validFlow() {
  return {
    start_node_id: 'greet',
    nodes: [
      { id: 'greet', type: 'conversation', data: { prompt: 'Ask whether {{first_name}} can make it.' } },
      { id: 'answer', type: 'decision', data: { description: 'Did they confirm?' } },
      { id: 'confirmed', type: 'end', data: { reason: 'confirmed' } },
      { id: 'declined', type: 'end', data: {} },
    ],
    edges: [
      { id: 'e1', source: 'greet', target: 'answer', condition: { type: 'always' } },
      { id: 'e2', source: 'answer', target: 'confirmed', condition: { type: 'intent', description: 'they confirm' } },
      { id: 'e3', source: 'answer', target: 'declined', condition: { type: 'equals', variable: 'first_name', value: 'nobody' } },
    ],
  }
}

export async function createAgent(app: FastifyInstance, key: string, overrides: Record<string, unknown> = {}) {
  const response = await call(app, { method: 'POST', url: '/api/v1/agents', key, payload: agentBody(overrides) })
  if (response.statusCode !== 201) throw new Error(`createAgent: ${response.statusCode} ${response.body}`)
  return response.json() as { id: string; version: number } & Record<string, unknown>
}

let phoneCounter = 0

/** A fresh valid number each call (+1 415 2xx xxxx). */
export function nextPhone(): string {
  phoneCounter++
  return `+1415${String(2_000_000 + ((process.pid * 7919 + phoneCounter) % 7_999_999)).padStart(7, '0')}`
}

export async function createContact(app: FastifyInstance, key: string, overrides: Record<string, unknown> = {}) {
  const response = await call(app, { method: 'POST', url: '/api/v1/contacts', key, payload: { phone: nextPhone(), first_name: 'Dana', ...overrides } })
  if (response.statusCode !== 201) throw new Error(`createContact: ${response.statusCode} ${response.body}`)
  return response.json() as { id: string; phone: string } & Record<string, unknown>
}

/** A key of the account holding exactly `scopes`, made with the account's owner key. */
export async function createKey(app: FastifyInstance, ownerKey: string, scopes: readonly string[], name = 'scoped') {
  const response = await call(app, { method: 'POST', url: '/api/v1/keys', key: ownerKey, payload: { name, scopes } })
  if (response.statusCode !== 201) throw new Error(`createKey: ${response.statusCode} ${response.body}`)
  return response.json() as { id: string; key: string }
}

/** Uploads an import and waits for its job to finish; returns the final import object. */
export async function importContacts(app: FastifyInstance, key: string, body: string, options: { query?: string; type?: string } = {}) {
  const started = await call(app, {
    method: 'POST', url: `/api/v1/contacts/imports${options.query ? `?${options.query}` : ''}`, key,
    headers: { 'content-type': options.type ?? 'text/csv' }, payload: body,
  })
  if (started.statusCode !== 202) throw new Error(`importContacts: ${started.statusCode} ${started.body}`)
  return waitForImport(app, key, started.json().id as string)
}

export async function waitForImport(app: FastifyInstance, key: string, id: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const current = (await call(app, { url: `/api/v1/contacts/imports/${id}`, key })).json()
    if (current.status === 'completed' || current.status === 'failed') return current
    if (Date.now() > deadline) throw new Error(`import ${id} still ${current.status} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Credit for an account, through the operators' grant (a `grant` ledger entry). */
export async function fund(app: FastifyInstance, accountId: string, cents: number) {
  await app.services.credits.grant(accountId, cents, 'test credit', { id: 'cli', ip: null })
}

/** Places a call (the account needs credit: see fund); returns the call object. */
export async function createCall(app: FastifyInstance, key: string, body: Record<string, unknown>) {
  const response = await call(app, { method: 'POST', url: '/api/v1/calls', key, payload: body })
  if (response.statusCode !== 201) throw new Error(`createCall: ${response.statusCode} ${response.body}`)
  return response.json() as { id: string; status: string } & Record<string, unknown>
}
