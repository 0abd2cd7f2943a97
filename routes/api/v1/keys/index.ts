import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import {
  ApiKeyListSchema, ApiKeySchema, ApiKeyWithSecretSchema, CurrentKeySchema, IpAllowlistSchema, PageQuerySchema,
  RotatedApiKeySchema, ScopeSchema, Timestamp, problemResponses, KeyIdParamsSchema,
  Nullable,
} from '../../../../src/http/schemas.js'
import { Label } from '../../../../src/http/schema-kit.js'
import { DEFAULT_ROTATION_OVERLAP_SECONDS, MAX_ROTATION_OVERLAP_SECONDS, presentKey } from '../../../../src/services/keys.js'
import type { Actor } from '../../../../src/services/audit.js'
import type { FastifyRequest } from 'fastify'
import { parseTimestamp } from '../../../../src/http/problem.js'

const Name = Label(100, { description: 'A label for people: no control or bidi-override characters', examples: ['billing-sync'] })
const Scopes = Type.Array(Type.Ref(ScopeSchema), { minItems: 1, maxItems: 13, uniqueItems: true })

const CreateKeyBody = Type.Object({
  name: Name,
  scopes: Scopes,
  ip_allowlist: Type.Optional(IpAllowlistSchema),
  expires_at: Type.Optional(Nullable(Timestamp)),
}, {
  additionalProperties: false,
  examples: [{ name: 'billing-sync', scopes: ['calls:read', 'credits:read'], ip_allowlist: ['203.0.113.0/24'] }],
})

const UpdateKeyBody = Type.Object({
  name: Type.Optional(Name),
  scopes: Type.Optional(Scopes),
  ip_allowlist: Type.Optional(IpAllowlistSchema),
  expires_at: Type.Optional(Nullable(Timestamp, { description: 'null removes the expiry' })),
}, { additionalProperties: false, examples: [{ name: 'billing-sync (prod)', ip_allowlist: ['203.0.113.0/24', '2001:db8::/48'] }] })

const RotateKeyBody = Type.Object({
  expire_old_in_seconds: Type.Optional(Type.Integer({
    minimum: 0, maximum: MAX_ROTATION_OVERLAP_SECONDS, default: DEFAULT_ROTATION_OVERLAP_SECONDS,
    description: 'How long the old key keeps working (0 = stops now)',
  })),
}, { additionalProperties: false, examples: [{ expire_old_in_seconds: 3600 }] })

function actorOf(request: FastifyRequest): Actor {
  return { id: request.principal.key.id, ip: request.ip }
}

function toDate(value: string | null | undefined): Date | null | undefined {
  return value === undefined || value === null ? value : parseTimestamp(value, '/body/expires_at')
}

/** Key management. Every route needs `keys:manage`, except /keys/current (any valid key). */
const keys: FastifyPluginAsyncTypebox = async (fastify) => {
  const manage = { scope: 'keys:manage' } as const

  fastify.post('/', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'Create an API key', operationId: 'createKey',
      description: 'Returns the secret `key` once. A key can grant only scopes it holds itself.',
      body: CreateKeyBody,
      response: { 201: Type.Ref(ApiKeyWithSecretSchema), ...problemResponses('validation_failed', 'invalid_ip_allowlist', 'scope_not_grantable', 'bad_request', 'payload_too_large', 'unsupported_media_type') },
    },
  }, async (request, reply) => {
    const { principal } = request
    const created = await fastify.keys.create(principal.account.id, {
      name: request.body.name,
      scopes: request.body.scopes,
      ipAllowlist: request.body.ip_allowlist,
      expiresAt: toDate(request.body.expires_at),
    }, actorOf(request), [...principal.scopes])
    return reply.code(201).send(created)
  })

  fastify.get('/', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'List API keys', operationId: 'listKeys',
      description: 'With `needs_attention=true`, only the live keys whose `attention` list is not empty.',
      querystring: Type.Composite([PageQuerySchema, Type.Object({
        needs_attention: Type.Optional(Type.Boolean({ description: 'Only keys that need attention' })),
      })], { additionalProperties: false }),
      response: { 200: Type.Ref(ApiKeyListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => fastify.keys.list(request.principal.account.id, {
    limit: request.query.limit, cursor: request.query.cursor, needsAttention: request.query.needs_attention,
  }))

  fastify.get('/current', {
    config: { scope: 'authenticated' },
    schema: {
      tags: ['keys'], summary: 'The calling key, its plan limits and rotation due date', operationId: 'getCurrentKey',
      response: { 200: Type.Ref(CurrentKeySchema), ...problemResponses() },
    },
  }, async (request) => {
    const { key, account, limits } = request.principal
    const presented = presentKey(key)
    return {
      key: presented,
      account: { id: account.id, name: account.name, plan: account.plan },
      limits: { requests_per_hour: limits.hourly, burst_per_minute: limits.burst },
      rotation_due_at: presented.rotation_due_at,
    }
  })

  fastify.get('/:id', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'Get an API key', operationId: 'getKey',
      params: KeyIdParamsSchema,
      response: { 200: Type.Ref(ApiKeySchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => fastify.keys.get(request.principal.account.id, request.params.id))

  fastify.patch('/:id', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'Update a key’s name, scopes, IP allowlist or expiry', operationId: 'updateKey',
      params: KeyIdParamsSchema,
      body: UpdateKeyBody,
      response: { 200: Type.Ref(ApiKeySchema), ...problemResponses('validation_failed', 'invalid_ip_allowlist', 'not_found', 'scope_not_grantable', 'key_revoked', 'key_already_rotated', 'bad_request', 'unsupported_media_type') },
    },
  }, async (request) => {
    const { principal } = request
    return fastify.keys.update(principal.account.id, request.params.id, {
      name: request.body.name,
      scopes: request.body.scopes,
      ipAllowlist: request.body.ip_allowlist,
      expiresAt: toDate(request.body.expires_at),
    }, actorOf(request), [...principal.scopes])
  })

  fastify.delete('/:id', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'Revoke an API key at once', operationId: 'revokeKey',
      params: KeyIdParamsSchema,
      response: { 200: Type.Ref(ApiKeySchema), ...problemResponses('validation_failed', 'not_found', 'scope_not_grantable') },
    },
  }, async (request) => fastify.keys.revoke(request.principal.account.id, request.params.id, actorOf(request), [...request.principal.scopes]))

  fastify.post('/:id/rotate', {
    config: manage,
    // A rotate call with no body at all means "the defaults".
    preValidation: async (request) => { request.body ??= {} },
    schema: {
      tags: ['keys'], summary: 'Rotate an API key', operationId: 'rotateKey',
      description: 'Issues a new key with the same name, scopes and allowlist. The old key keeps working for '
        + '`expire_old_in_seconds` (default 86400) and answers with Deprecation/Sunset headers meanwhile.',
      params: KeyIdParamsSchema,
      body: RotateKeyBody,
      response: { 201: Type.Ref(RotatedApiKeySchema), ...problemResponses('validation_failed', 'not_found', 'scope_not_grantable', 'key_already_rotated', 'key_revoked', 'bad_request', 'unsupported_media_type') },
      'x-body-optional': true,
    },
  }, async (request, reply) => {
    const overlap = request.body.expire_old_in_seconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS
    const { principal } = request
    const rotated = await fastify.keys.rotate(principal.account.id, request.params.id, overlap, actorOf(request), [...principal.scopes])
    return reply.code(201).send(rotated)
  })
}

export default keys
