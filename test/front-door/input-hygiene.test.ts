import t from 'tap'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'

/**
 * Generated from the route table: every string and date input of every /api/v1 route — path
 * parameters, query parameters, body fields at any depth — is tried with values PostgreSQL
 * cannot store (U+0000 anywhere in a string, dates outside years 1–9999). Each must be a 400 that
 * names the field, never a 500. A route added later is covered without editing this test.
 */

interface SchemaNode {
  type?: string | string[]
  format?: string
  properties?: Record<string, SchemaNode>
  items?: SchemaNode
  $ref?: string
  anyOf?: SchemaNode[]
}

interface Leaf { pointer: string[]; kind: 'string' | 'date' }

/** Every string leaf of a schema, as a path of property names / array indexes. */
function leaves(app: FastifyInstance, schema: SchemaNode | undefined, path: string[] = [], depth = 0): Leaf[] {
  if (!schema || depth > 6) return []
  if (schema.$ref) return leaves(app, app.getSchema(schema.$ref) as SchemaNode | undefined, path, depth + 1)
  if (schema.anyOf) return schema.anyOf.flatMap((member) => leaves(app, member, path, depth + 1))
  const types = Array.isArray(schema.type) ? schema.type : [schema.type]
  if (types.includes('object') && schema.properties) {
    return Object.entries(schema.properties).flatMap(([name, property]) => leaves(app, property, [...path, name], depth + 1))
  }
  if (types.includes('array') && schema.items) return leaves(app, schema.items, [...path, '0'], depth + 1)
  if (types.includes('string')) return [{ pointer: path, kind: schema.format === 'date-time' ? 'date' : 'string' }]
  return []
}

/** A body holding `value` at `pointer` and nothing else. */
function bodyWith(pointer: string[], value: string): unknown {
  let node: unknown = value
  for (let i = pointer.length - 1; i >= 0; i--) node = /^\d+$/.test(pointer[i]!) ? [node] : { [pointer[i]!]: node }
  return node
}

const nulStrings = fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([before, after]) => `${before}\u0000${after}`)
const BAD_DATES = ['0000-06-15T00:00:00Z', '0001-01-01T00:00:00+01:00']

t.test('no string or date input of any route can reach PostgreSQL unstorable', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const routes = app.routeTable.filter((route) => route.url.startsWith('/api/v1/'))
  t.ok(routes.length >= 15, `${routes.length} routes`)

  const expectNamed = async (label: string, field: string, request: Parameters<typeof call>[1]) => {
    const response = await call(app, { key: owner.key, ...request })
    const named = response.statusCode === 400 && (response.json().errors ?? []).some((error: { field: string }) => error.field === field)
    if (!named) t.fail(`${label}: expected 400 naming ${field}, got ${response.statusCode} ${response.body.slice(0, 200)}`)
    return named
  }

  let checks = 0
  for (const route of routes) {
    const params = [...route.url.matchAll(/:(\w+)/g)].map((match) => match[1]!)
    const url = (values: Record<string, string> = {}) => route.url.replace(/:(\w+)/g, (_, name: string) => values[name] ?? 'x_placeholder')
    const label = `${route.method} ${route.url}`

    for (const param of params) {
      await fc.assert(fc.asyncProperty(nulStrings, async (value) =>
        expectNamed(label, `/params/${param}`, { method: route.method as never, url: url({ [param]: encodeURIComponent(value) }) })), { numRuns: 2 })
      checks++
    }

    const query = route.schema?.querystring as SchemaNode | undefined
    for (const leaf of leaves(app, query)) {
      const name = leaf.pointer[0]!
      const values = leaf.kind === 'date' ? BAD_DATES : [fc.sample(nulStrings, 1)[0]!]
      for (const value of values) {
        await expectNamed(`${label} ?${name}`, `/querystring/${name}`, { method: route.method as never, url: `${url()}?${name}=${encodeURIComponent(value)}` })
        checks++
      }
      if (name === 'cursor') {
        // A cursor this API could have issued, but for an instant PostgreSQL cannot store.
        const cursor = Buffer.from(JSON.stringify(['+275760-09-13T00:00:00.000Z', 'key_x'])).toString('base64url')
        await expectNamed(`${label} far cursor`, '/querystring/cursor', { method: route.method as never, url: `${url()}?cursor=${cursor}` })
        const nulId = Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000Z', 'a\u0000b'])).toString('base64url')
        await expectNamed(`${label} NUL cursor id`, '/querystring/cursor', { method: route.method as never, url: `${url()}?cursor=${nulId}` })
        checks += 2
      }
    }

    const body = route.schema?.body as SchemaNode | undefined
    for (const leaf of leaves(app, body)) {
      const field = `/body/${leaf.pointer.join('/')}`
      if (leaf.kind === 'date') {
        for (const value of BAD_DATES) {
          await expectNamed(`${label} ${field}`, field, { method: route.method as never, url: url(), payload: bodyWith(leaf.pointer, value) as never })
          checks++
        }
      }
      await fc.assert(fc.asyncProperty(nulStrings, async (value) =>
        expectNamed(`${label} ${field}`, field, { method: route.method as never, url: url(), payload: bodyWith(leaf.pointer, value) as never })), { numRuns: 2 })
      checks++
    }
  }
  t.ok(checks >= 40, `${checks} inputs checked`)
})
