import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { IdParamsSchema, problemResponses } from '../../../../src/http/schemas.js'
import { parseTimestamp } from '../../../../src/http/problem.js'
import { DEFAULT_ROTATION_OVERLAP_SECONDS, KeyService, presentKey } from '../../../../src/keys/service.js'
import { defineGroup } from '../group.js'
import {
  ApiKeyListSchema, ApiKeySchema, ApiKeyWithSecretSchema, CreateKeyBody, CurrentKeySchema, KEY_SCHEMAS, KeyListQuery,
  RotateKeyBody, RotatedApiKeySchema, UpdateKeyBody,
} from './schemas.js'

function toDate(value: string | null | undefined): Date | null | undefined {
  return value === undefined || value === null ? value : parseTimestamp(value, '/body/expires_at')
}

/** Key management. Every route needs `keys:manage`, except /keys/current (any valid key). */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const keys = fastify.services.keys
  const manage = { scope: 'keys:manage' } as const

  fastify.post('/', {
    config: { ...manage, idempotent: true },
    schema: {
      tags: ['keys'], summary: 'Create an API key', operationId: 'createKey',
      description: 'Returns the secret `key` once. A key can grant only scopes it holds itself.',
      body: CreateKeyBody,
      response: { 201: Type.Ref(ApiKeyWithSecretSchema), ...problemResponses('validation_failed', 'invalid_ip_allowlist', 'scope_not_grantable', 'bad_request', 'payload_too_large', 'unsupported_media_type') },
    },
  }, async (request, reply) => {
    const created = await keys.create(request.principal.account.id, {
      name: request.body.name,
      scopes: request.body.scopes,
      ipAllowlist: request.body.ip_allowlist,
      expiresAt: toDate(request.body.expires_at),
    }, request.actor, [...request.principal.scopes])
    return reply.code(201).send(created)
  })

  fastify.get('/', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'List API keys', operationId: 'listKeys',
      description: 'With `needs_attention=true`, only the live keys whose `attention` list is not empty.',
      querystring: KeyListQuery,
      response: { 200: Type.Ref(ApiKeyListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => keys.list(request.principal.account.id, {
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
      params: IdParamsSchema,
      response: { 200: Type.Ref(ApiKeySchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => keys.get(request.principal.account.id, request.params.id))

  fastify.patch('/:id', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'Update a key’s name, scopes, IP allowlist or expiry', operationId: 'updateKey',
      params: IdParamsSchema,
      body: UpdateKeyBody,
      response: { 200: Type.Ref(ApiKeySchema), ...problemResponses('validation_failed', 'invalid_ip_allowlist', 'not_found', 'scope_not_grantable', 'key_revoked', 'key_already_rotated', 'bad_request', 'unsupported_media_type') },
    },
  }, async (request) => keys.update(request.principal.account.id, request.params.id, {
    name: request.body.name,
    scopes: request.body.scopes,
    ipAllowlist: request.body.ip_allowlist,
    expiresAt: toDate(request.body.expires_at),
  }, request.actor, [...request.principal.scopes]))

  fastify.delete('/:id', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'Revoke an API key at once', operationId: 'revokeKey',
      params: IdParamsSchema,
      response: { 200: Type.Ref(ApiKeySchema), ...problemResponses('validation_failed', 'not_found', 'scope_not_grantable') },
    },
  }, async (request) => keys.revoke(request.principal.account.id, request.params.id, request.actor, [...request.principal.scopes]))

  fastify.post('/:id/rotate', {
    config: { ...manage, idempotent: true },
    // A rotate call with no body at all means "the defaults".
    preValidation: async (request) => { request.body ??= {} },
    schema: {
      tags: ['keys'], summary: 'Rotate an API key', operationId: 'rotateKey',
      description: 'Issues a new key with the same name, scopes and allowlist. The old key keeps working for '
        + '`expire_old_in_seconds` (default 86400) and answers with Deprecation/Sunset headers meanwhile.',
      params: IdParamsSchema,
      body: RotateKeyBody,
      response: { 201: Type.Ref(RotatedApiKeySchema), ...problemResponses('validation_failed', 'not_found', 'scope_not_grantable', 'key_already_rotated', 'key_revoked', 'bad_request', 'unsupported_media_type') },
      'x-body-optional': true,
    },
  }, async (request, reply) => {
    const overlap = request.body.expire_old_in_seconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS
    const rotated = await keys.rotate(request.principal.account.id, request.params.id, overlap, request.actor, [...request.principal.scopes])
    return reply.code(201).send(rotated)
  })
}

export default defineGroup({
  name: 'keys',
  prefix: '/keys',
  tag: { name: 'keys', description: 'API keys: create, list, rotate, revoke (scope keys:manage)' },
  schemas: KEY_SCHEMAS,
  service: (context) => new KeyService(context),
  routes,
})
