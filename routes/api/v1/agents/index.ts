import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { IdParamsSchema, PageQuerySchema, problemResponses } from '../../../../src/http/schemas.js'
import { validationError } from '../../../../src/http/problem.js'
import { AgentService, type AgentDocument } from '../../../../src/agents/service.js'
import { defineGroup } from '../group.js'
import {
  AGENT_SCHEMAS, AgentExportSchema, AgentImportCheckSchema, AgentListSchema, AgentSchema, AgentVersionListSchema, AgentVersionSchema,
  CreateAgentBody, ImportQuery, UpdateAgentBody, VersionParams,
} from './schemas.js'

/** AI agents: manage them, read their versions, export and import their flows. */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const agents = fastify.services.agents
  const read = { scope: 'agents:read' } as const
  const write = { scope: 'agents:write' } as const

  fastify.post('/', {
    config: { ...write, idempotent: true },
    schema: {
      tags: ['agents'], summary: 'Create an agent', operationId: 'createAgent',
      description: 'Every `{{name}}` in the prompts and messages must name a declared variable; the flow is checked whole '
        + '(every problem is reported, each with a JSON pointer). Starts at version 1.',
      body: CreateAgentBody,
      response: { 201: Type.Ref(AgentSchema), ...problemResponses('validation_failed', 'bad_request', 'payload_too_large', 'unsupported_media_type') },
    },
  }, async (request, reply) => reply.code(201).send(await agents.create(request.principal.account.id, request.body, request.actor)))

  fastify.get('/', {
    config: read,
    schema: {
      tags: ['agents'], summary: 'List agents, newest first', operationId: 'listAgents',
      querystring: PageQuerySchema,
      response: { 200: Type.Ref(AgentListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => agents.list(request.principal.account.id, request.query))

  fastify.get('/:id', {
    config: read,
    schema: {
      tags: ['agents'], summary: 'Get an agent', operationId: 'getAgent',
      params: IdParamsSchema,
      response: { 200: Type.Ref(AgentSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => agents.get(request.principal.account.id, request.params.id))

  fastify.patch('/:id', {
    config: write,
    schema: {
      tags: ['agents'], summary: 'Change an agent', operationId: 'updateAgent',
      description: 'Send only what changes. A change to the configuration makes a new version (the old one is kept); '
        + 'name and metadata are labels and change in place.',
      params: IdParamsSchema,
      body: UpdateAgentBody,
      response: { 200: Type.Ref(AgentSchema), ...problemResponses('validation_failed', 'not_found', 'bad_request', 'unsupported_media_type') },
    },
  }, async (request) => agents.update(request.principal.account.id, request.params.id, request.body, request.actor))

  fastify.delete('/:id', {
    config: write,
    schema: {
      tags: ['agents'], summary: 'Delete an agent', operationId: 'deleteAgent',
      description: 'The agent disappears from the API; calls that ran it keep pointing at the version they ran.',
      params: IdParamsSchema,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request, reply) => {
    await agents.delete(request.principal.account.id, request.params.id, request.actor)
    return reply.code(204).send(null)
  })

  fastify.get('/:id/versions', {
    config: read,
    schema: {
      tags: ['agents'], summary: 'An agent’s versions, newest first', operationId: 'listAgentVersions',
      params: IdParamsSchema,
      querystring: PageQuerySchema,
      response: { 200: Type.Ref(AgentVersionListSchema), ...problemResponses('validation_failed', 'invalid_cursor', 'not_found') },
    },
  }, async (request) => agents.versions(request.principal.account.id, request.params.id, request.query))

  fastify.get('/:id/versions/:version', {
    config: read,
    schema: {
      tags: ['agents'], summary: 'One version of an agent', operationId: 'getAgentVersion',
      params: VersionParams,
      response: { 200: Type.Ref(AgentVersionSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => agents.version(request.principal.account.id, request.params.id, request.params.version))

  fastify.get('/:id/export', {
    config: read,
    schema: {
      tags: ['agents'], summary: 'Export an agent as a portable document', operationId: 'exportAgent',
      description: 'No ids of this account and no timestamps: import it into any account. export → import → export yields the same document, byte for byte.',
      params: IdParamsSchema,
      response: { 200: Type.Ref(AgentExportSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => agents.export(request.principal.account.id, request.params.id))

  fastify.post('/import', {
    config: { ...write, idempotent: true },
    // A dry run reports shape problems in its answer too, not as a 400.
    attachValidation: true,
    schema: {
      tags: ['agents'], summary: 'Import an exported agent', operationId: 'importAgent',
      description: 'Creates a new agent from a document `GET /agents/{id}/export` produced. With `dry_run=true`, checks it '
        + 'whole and writes nothing: 200 `{ valid, errors }`, every problem with a JSON pointer into the document.',
      querystring: ImportQuery,
      body: Type.Ref(AgentExportSchema),
      response: {
        201: Type.Ref(AgentSchema),
        200: Type.Ref(AgentImportCheckSchema),
        ...problemResponses('validation_failed', 'unsupported_schema_version', 'bad_request', 'payload_too_large', 'unsupported_media_type'),
      },
    },
  }, async (request, reply) => {
    // Read as sent too: when the body fails validation, Fastify stops before coercing the query.
    const dryRun = request.query.dry_run === true || String(request.query.dry_run) === 'true'
    if (request.validationError) {
      const error = validationError(request.validationError.validation as never, 'body')
      if (!dryRun) throw error
      return reply.code(200).send({ dry_run: true, valid: false, errors: (error.options.errors ?? []).map((item) => ({ ...item, field: item.field.replace(/^\/body/, '') })) })
    }
    const outcome = await agents.import(request.principal.account.id, request.body as AgentDocument, request.actor, dryRun)
    if (outcome.dry_run) return reply.code(200).send(outcome)
    return reply.code(201).send(outcome.agent)
  })
}

export default defineGroup({
  name: 'agents',
  prefix: '/agents',
  tag: { name: 'agents', description: 'AI agents: configuration, versions, flows; export and import (scopes agents:read, agents:write)' },
  schemas: AGENT_SCHEMAS,
  service: (context) => new AgentService(context),
  routes,
})
