import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { parse } from 'yaml'
import SwaggerParser from '@apidevtools/swagger-parser'
import openapiTS, { astToString } from 'openapi-typescript'
import createClient from 'openapi-fetch'
import ts from 'typescript'
import { OPENAPI_PATH, generateOpenApiYaml } from '../../scripts/openapi-spec.js'
import { SCOPES } from '../../src/scopes.js'
import { buildTestApp, createTestAccount } from '../helper/app.js'
import { createAgent } from '../helper/factories.js'

interface SchemaNode { [keyword: string]: unknown }
interface MediaType { schema?: SchemaNode; example?: unknown }
interface Response { description?: string; headers?: Record<string, { $ref?: string }>; content?: Record<string, MediaType> }
interface Operation {
  requestBody?: { required?: boolean; content?: Record<string, MediaType> }
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  security?: Record<string, string[]>[]
  'x-required-scope'?: string
  parameters?: { name?: string; in?: string; required?: boolean; schema?: SchemaNode }[]
  responses?: Record<string, Response>
}
interface OpenApiDocument {
  openapi: string
  servers?: { url: string }[]
  tags?: { name: string }[]
  paths: Record<string, Record<string, Operation>>
  components: {
    schemas: Record<string, SchemaNode>
    securitySchemes: Record<string, Record<string, unknown>>
  }
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])
const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))

function operationsOf(document: OpenApiDocument): { id: string; path: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item)
    .filter(([method]) => METHODS.has(method))
    .map(([method, operation]) => ({ id: `${method.toUpperCase()} ${path}`, path, operation })))
}

/** Every value reachable from `root`, depth first. */
function* walk(root: unknown): Generator<SchemaNode> {
  if (root === null || typeof root !== 'object') return
  if (!Array.isArray(root)) yield root as SchemaNode
  for (const value of Object.values(root)) yield* walk(value)
}

const propertySignature = (schema: SchemaNode) => Object.keys(schema.properties as object).sort().join(',')

// Generated once: the app is built on an in-memory database, exactly as `npm run openapi` does.
const generated = await generateOpenApiYaml()
const spec = parse(generated) as OpenApiDocument
const operations = operationsOf(spec)
const v1Operations = operations.filter(({ path }) => path.startsWith('/api/v1/'))

t.test('the committed openapi.yaml is what the code generates', async (t) => {
  t.ok(existsSync(OPENAPI_PATH), 'openapi.yaml is committed at the project root')
  const committed = existsSync(OPENAPI_PATH) ? readFileSync(OPENAPI_PATH, 'utf8') : ''
  t.ok(committed === generated, 'openapi.yaml is stale: run npm run openapi')
  t.notMatch(generated, /^\s*(?:-\s+)?[\w$-]+:\s+[&*]\w+/m, 'no YAML anchors or aliases')
})

t.test('the document is valid OpenAPI 3.1', async (t) => {
  t.match(spec.openapi, /^3\.1\.\d+$/)
  // swagger-parser dereferences in place: it gets a copy.
  await t.resolves(SwaggerParser.validate(structuredClone(spec) as never), 'swagger-parser validates it')
  t.same(spec.servers?.map((server) => server.url), ['/'], 'a relative server: Try it out calls the host that served the document')
})

t.test('what generated clients rely on: defaults optional, headers documented, honest responses, real examples', async (t) => {
  for (const { id, operation } of v1Operations) {
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in === 'query' && parameter.schema?.default !== undefined) {
        t.notOk(parameter.required, `${id} ?${parameter.name} has a default, so it is optional`)
      }
    }
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      t.not(response.description, 'Default Response', `${id} ${status} is described`)
      const headers = Object.keys(response.headers ?? {})
      t.ok(headers.includes('X-Request-Id'), `${id} ${status} documents X-Request-Id`)
      for (const name of ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit-Policy']) {
        t.ok(headers.includes(name), `${id} ${status} documents ${name}`)
      }
      if (status === '429' || status === '503') t.ok(headers.includes('Retry-After'), `${id} ${status} documents Retry-After`)
      if (status.startsWith('2')) {
        for (const name of ['Deprecation', 'Sunset', 'X-API-Key-Rotation-Due']) t.ok(headers.includes(name), `${id} ${status} documents ${name}`)
      }
      const problem = response.content?.['application/problem+json']
      if (problem) {
        const example = problem.example as { status?: number; code?: string } | undefined
        t.equal(example?.status, Number(status), `${id} ${status}: the example problem has this status`)
        t.match(response.description ?? '', `\`${example?.code}\``, `${id} ${status}: and one of the codes the description lists`)
      }
    }
    const body = operation.requestBody?.content?.['application/json']
    if (body) t.ok(body.example !== undefined, `${id} has a request body example`)
  }
  t.notOk(spec.paths['/api/v1/keys']?.post?.responses?.['404'], 'POST /keys documents no 404: it cannot return one')
  t.equal(spec.paths['/api/v1/keys/{id}/rotate']?.post?.requestBody?.required, false, 'rotate needs no body')
  t.equal(spec.paths['/api/v1/keys']?.post?.requestBody?.required, true)
  t.ok((spec.components as unknown as { headers?: object }).headers, 'response headers are shared components')
})

t.test('security schemes: exactly bearerAuth (HTTP bearer) and apiKeyHeader (X-API-Key)', async (t) => {
  const schemes = spec.components.securitySchemes
  t.same(Object.keys(schemes).sort(), ['apiKeyHeader', 'bearerAuth'])
  t.match(schemes.bearerAuth, { type: 'http', scheme: 'bearer' })
  t.match(schemes.apiKeyHeader, { type: 'apiKey', in: 'header', name: 'X-API-Key' })
})

t.test('paths are canonical: no trailing slash, parameters in {braces}', async (t) => {
  for (const path of Object.keys(spec.paths)) {
    t.notOk(path.length > 1 && path.endsWith('/'), `${path} has no trailing slash`)
    t.notMatch(path, /\/:/, `${path} uses OpenAPI parameter syntax`)
  }
  for (const path of ['/api/v1/keys', '/api/v1/keys/{id}', '/api/v1/credits/balance', '/api/v1/audit-log']) {
    t.ok(spec.paths[path], `${path} is documented`)
  }
})

t.test('every operation has a unique operationId, a summary and declared tags', async (t) => {
  const declaredTags = new Set(spec.tags?.map((tag) => tag.name))
  const ids = operations.map(({ operation }) => operation.operationId)
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  for (const { id, operation } of operations) {
    t.match(operation.operationId, /^[a-z][A-Za-z]+$/, `${id} operationId`)
    t.ok(operation.summary, `${id} summary`)
    t.ok((operation.tags ?? []).length > 0, `${id} has a tag`)
    for (const tag of operation.tags ?? []) t.ok(declaredTags.has(tag), `${id} tag ${tag} is declared`)
  }
})

t.test('every /api/v1 operation requires a key and names its one scope', async (t) => {
  t.ok(v1Operations.length >= 10, `${v1Operations.length} operations under /api/v1`)
  const scopeNames: readonly string[] = SCOPES
  const scopeFree: string[] = []
  for (const { id, operation } of v1Operations) {
    const scope = operation['x-required-scope']
    t.ok(scope === 'authenticated' || (scope !== undefined && scopeNames.includes(scope)), `${id} x-required-scope ${scope}`)
    if (scope === 'authenticated') scopeFree.push(id)
    const requirement = scope === 'authenticated' ? [] : [scope]
    t.same(operation.security, [{ bearerAuth: requirement }, { apiKeyHeader: requirement }], `${id} security names both schemes`)
    const note = scope === 'authenticated' ? 'Any valid API key; no scope needed.' : `Required scope: \`${scope}\`.`
    // Exactly once: the GET route and Fastify's HEAD twin share one schema object.
    t.equal(operation.description?.split(note).length, 2, `${id} description states the scope once`)
  }
  t.same(scopeFree, ['GET /api/v1/keys/current'], 'only /keys/current needs no particular scope')
})

t.test('/health and /ready are public', async (t) => {
  for (const path of ['/health', '/ready']) {
    t.same(spec.paths[path]?.get?.security, [], `${path} security: []`)
    t.notOk(spec.paths[path]?.get?.['x-required-scope'], `${path} names no scope`)
  }
})

t.test('shared schemas are named components and referenced, never inlined', async (t) => {
  const schemas = spec.components.schemas
  for (const name of ['Problem', 'ApiKey', 'ApiKeyWithSecret', 'RotatedApiKey', 'CreditBalance', 'AuditEntry', 'Scope', 'ApiKeyList']) {
    t.ok(schemas[name], `components.schemas.${name}`)
  }
  t.same(Object.keys(schemas).filter((name) => !/^[A-Z][A-Za-z]+$/.test(name)), [], 'no generated names such as def-0')
  for (const node of walk(spec)) {
    if (typeof node.$ref !== 'string') continue
    const [, section, name] = /^#\/components\/(schemas|headers)\/(.+)$/.exec(node.$ref) ?? []
    const components = spec.components as unknown as Record<string, Record<string, unknown>>
    t.ok(section && name && components[section]?.[name], `$ref ${node.$ref} resolves`)
  }

  const responseRef = (path: string, method: string, status: string, media = 'application/json') =>
    spec.paths[path]?.[method]?.responses?.[status]?.content?.[media]?.schema?.$ref
  t.equal(responseRef('/api/v1/keys', 'post', '201'), '#/components/schemas/ApiKeyWithSecret')
  t.equal(responseRef('/api/v1/keys/{id}', 'get', '200'), '#/components/schemas/ApiKey')
  t.equal(responseRef('/api/v1/keys/{id}/rotate', 'post', '201'), '#/components/schemas/RotatedApiKey')
  t.equal(responseRef('/api/v1/credits/balance', 'get', '200'), '#/components/schemas/CreditBalance')
  t.equal(responseRef('/api/v1/audit-log', 'get', '200'), '#/components/schemas/AuditEntryList')
  t.match(schemas.AuditEntryList, { properties: { data: { items: { $ref: '#/components/schemas/AuditEntry' } } } })

  // Errors: the one Problem schema, under the media type the server really sends.
  for (const { id, operation } of v1Operations) {
    const errors = Object.entries(operation.responses ?? {}).filter(([status]) => /^[45]/.test(status))
    t.ok(errors.length > 0, `${id} documents its errors`)
    for (const [status, response] of errors) {
      t.same(Object.keys(response.content ?? {}), ['application/problem+json'], `${id} ${status} media type`)
      t.equal(response.content?.['application/problem+json']?.schema?.$ref, '#/components/schemas/Problem', `${id} ${status} is a Problem`)
    }
  }

  // An inline object with exactly a named schema's properties is a copy that should be a $ref.
  const named = new Map(Object.entries(schemas)
    .filter(([, schema]) => schema.properties)
    .map(([name, schema]) => [propertySignature(schema), name]))
  for (const { id, operation } of operations) {
    for (const node of walk([operation.parameters, operation.requestBody, operation.responses])) {
      if (!node.properties || typeof node.properties !== 'object') continue
      const copy = named.get(propertySignature(node))
      t.notOk(copy, `${id} inlines ${copy ?? 'no named schema'}`)
    }
  }
})

t.test('an SDK generated from openapi.yaml types and drives the API', async (t) => {
  const types = astToString(await openapiTS(pathToFileURL(OPENAPI_PATH), { silent: true }))
  for (const path of ['/api/v1/keys', '/api/v1/keys/{id}', '/api/v1/credits/balance']) {
    t.ok(types.includes(`"${path}": {`), `declares path ${path}`)
  }
  for (const schema of ['ApiKey', 'ApiKeyWithSecret', 'Problem', 'CreditBalance']) {
    t.match(types, new RegExp(`^\\s+${schema}: \\{`, 'm'), `declares components.schemas.${schema}`)
  }

  t.test('the generated types compile and are strict with openapi-fetch', async (t) => {
    // Inside node_modules/.cache so that 'openapi-fetch' and @types resolve from the project.
    const cache = join(PROJECT_ROOT, 'node_modules', '.cache')
    mkdirSync(cache, { recursive: true })
    const dir = mkdtempSync(join(cache, 'voxpria-openapi-sdk-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
    writeFileSync(join(dir, 'openapi.d.ts'), types)
    t.ok(listOperations.length >= 5, `${listOperations.length} list operations called with no arguments`)
    writeFileSync(join(dir, 'usage.ts'), SDK_USAGE)
    const program = ts.createProgram([join(dir, 'usage.ts')], {
      strict: true,
      noEmit: true,
      noUncheckedIndexedAccess: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      skipLibCheck: true,
    })
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file && diagnostic.start !== undefined
        ? `${diagnostic.file.fileName.slice(dir.length + 1)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1} `
        : ''
      return where + ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    })
    t.same(diagnostics, [], 'no type errors, and every @ts-expect-error is needed')
  })

  t.test('a customer drives the running API with openapi-fetch', async (t) => {
    const { app } = await buildTestApp(t)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const account = await createTestAccount(app, { plan: 'free_trial' })
    // The compile-time check above types these calls; at run time the paths type is not importable.
    const client = createClient<SdkPaths>({ baseUrl, headers: { Authorization: `Bearer ${account.key}` } })

    const balance = await client.GET('/api/v1/credits/balance')
    t.equal(balance.response.status, 200)
    t.match(balance.data, { balance: 1000, currency: 'usd' }, 'the free trial grant, in cents')

    const created = await client.POST('/api/v1/keys', { body: { name: 'sdk key', scopes: ['credits:read'] } })
    t.equal(created.response.status, 201)
    t.match(created.data, { id: /^key_/, key: /^vxp_/, scopes: ['credits:read'] })
    const newKey = created.data as { id: string; key: string }

    const fetched = await client.GET('/api/v1/keys/{id}', { params: { path: { id: newKey.id } } })
    t.equal(fetched.response.status, 200)
    t.match(fetched.data, { id: newKey.id, name: 'sdk key', status: 'active' })
    t.notOk(fetched.data && 'key' in fetched.data, 'the secret is never shown again')

    // The new key, through the other documented scheme, holds only credits:read.
    const restricted = createClient<SdkPaths>({ baseUrl, headers: { 'X-API-Key': newKey.key } })
    t.match((await restricted.GET('/api/v1/credits/balance')).data, { balance: 1000 })
    const refused = await restricted.GET('/api/v1/keys')
    t.equal(refused.response.status, 403)
    t.match(refused.error, { code: 'insufficient_scope' })

    const example = spec.paths['/api/v1/keys']?.post?.requestBody?.content?.['application/json']?.example as Record<string, unknown>
    const tried = await client.POST('/api/v1/keys', { body: example })
    t.equal(tried.response.status, 201, 'the documented example body ("Try it out") works as is')

    // A nested list needs a real parent of its own kind; a new group's nested list must add one here.
    const agent = await createAgent(app, account.key)
    const parents: Record<string, string> = { keys: account.keyId, agents: agent.id }
    for (const { path } of listOperations) {
      const group = /^\/api\/v1\/([\w-]+)\//.exec(path)?.[1] ?? ''
      const url = path.replace(/\{\w+\}/g, () => parents[group] ?? `no test parent for ${group}`) as '/api/v1/keys'
      const listed = await client.GET(url)
      t.equal(listed.response.status, 200, `GET ${path} with no arguments`)
    }
    const noBody = await client.POST(`/api/v1/keys/${newKey.id}/rotate` as '/api/v1/keys')
    t.equal(noBody.response.status, 201, 'rotate with no body at all')

    const anonymous = await createClient<SdkPaths>({ baseUrl }).GET('/api/v1/credits/balance')
    t.equal(anonymous.data, undefined)
    t.equal(anonymous.response.status, 401)
    t.match(anonymous.response.headers.get('content-type'), /^application\/problem\+json/, 'the documented error media type')
    t.match(anonymous.error, { code: 'missing_api_key', status: 401 })
  })
})

/** GET operations answering a page (`…List`), as a customer would call them: with no arguments. */
const listOperations = v1Operations.filter(({ id, operation }) => id.startsWith('GET ')
  && /List$/.test(String(operation.responses?.['200']?.content?.['application/json']?.schema?.$ref ?? '')))
const LIST_CALLS = listOperations.map(({ path }) => {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map((match) => `${match[1]}: 'key_123'`)
  return params.length === 0
    ? `  await client.GET('${path}')`
    : `  await client.GET('${path}', { params: { path: { ${params.join(', ')} } } })`
}).join('\n')

/**
 * A loose stand-in for the generated `paths`, only for the run-time half: the generated file does
 * not exist when `tsc --noEmit` checks this test, so the typed half is compiled above instead.
 */
type SdkOperation = {
  parameters: { query?: Record<string, unknown>; path?: Record<string, string> }
  requestBody?: { content: { 'application/json': Record<string, unknown> } }
  responses: {
    200: { content: { 'application/json': Record<string, unknown> } }
    201: { content: { 'application/json': Record<string, unknown> } }
    default: { content: { 'application/problem+json': Record<string, unknown> } }
  }
}
type SdkPaths = Record<string, { get: SdkOperation; post: SdkOperation }>

/** What a customer's TypeScript would look like: it must compile, and misuse must not. */
const SDK_USAGE_TEMPLATE = `
import createClient from 'openapi-fetch'
import type { components, paths } from './openapi.js'

type ApiKey = components['schemas']['ApiKey']
type ProblemCode = components['schemas']['Problem']['code']

export async function usage(key: string): Promise<void> {
  const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:3000', headers: { Authorization: 'Bearer ' + key } })

  const balance = await client.GET('/api/v1/credits/balance')
  const cents: number | undefined = balance.data?.balance
  const code: ProblemCode | undefined = balance.error?.code

  const created = await client.POST('/api/v1/keys', { body: { name: 'ci', scopes: ['credits:read'], ip_allowlist: ['10.0.0.0/8'] } })
  const secret: string | undefined = created.data?.key

  const fetched = await client.GET('/api/v1/keys/{id}', { params: { path: { id: 'key_123' } } })
  const stored: ApiKey | undefined = fetched.data

  const page = await client.GET('/api/v1/keys', { params: { query: { limit: 10 } } })
  const ids: string[] | undefined = page.data?.data.map((item) => item.id)
  const cursor: string | null | undefined = page.data?.next_cursor

  // Every list with no arguments at all, and rotate with no body: the server defaults them.
${LIST_CALLS}
  const rotated = await client.POST('/api/v1/keys/{id}/rotate', { params: { path: { id: 'key_123' } } })
  const successor: string | undefined = rotated.data?.key
  void successor

  // @ts-expect-error an undocumented path does not compile
  await client.GET('/api/v1/nope')
  // @ts-expect-error scopes are required to create a key
  await client.POST('/api/v1/keys', { body: { name: 'ci' } })
  // @ts-expect-error only the 13 documented scopes exist
  await client.POST('/api/v1/keys', { body: { name: 'ci', scopes: ['calls:delete'] } })
  // @ts-expect-error the key id path parameter is required
  await client.GET('/api/v1/keys/{id}', {})
  // @ts-expect-error a stored key never carries its secret
  void stored?.key
  // @ts-expect-error balances are integers of cents, not strings
  const wrong: string | undefined = balance.data?.balance

  void [cents, code, secret, ids, cursor, wrong]
}
`
const SDK_USAGE = SDK_USAGE_TEMPLATE.replace('${LIST_CALLS}', LIST_CALLS)
