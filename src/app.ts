import fp from 'fastify-plugin'
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { DestinationStream } from 'pino'
import { newRequestId } from './ids.js'
import { parseTrustProxy, type Config } from './config.js'
import { loggerOptions } from './logger.js'
import { storableDateTimeFormat } from './time.js'
import { ApiError } from './errors.js'
import { fromClientError, fromFastifyError, rawProblemResponse } from './http/problem.js'
import { cachedSerializerFactory } from './http/serializers.js'
import configPlugin from '../plugins/config.js'
import errors, { sendProblem } from '../plugins/errors.js'
import requestGuards from '../plugins/request-guards.js'
import routeTable from '../plugins/route-table.js'
import swagger from '../plugins/external/swagger.js'
import schemas from '../plugins/schemas.js'
import db from '../plugins/db.js'
import redis from '../plugins/redis.js'
import cacheBus from '../plugins/cache-bus.js'
import verifier from '../plugins/verifier.js'
import services from '../plugins/services.js'
import idempotencyStore from '../plugins/idempotency-store.js'
import jobs from '../plugins/jobs.js'
import usageLog from '../plugins/usage-log.js'
import rateLimitStore from '../plugins/rate-limit-store.js'
import authFailures from '../plugins/auth-failures.js'
import health from '../routes/health.js'
import v1 from '../routes/api/v1/index.js'
import { GROUPS } from '../routes/api/v1/groups.js'
import { systemClock, type Clock } from './clock.js'

export interface AppOptions {
  config: Config
  /** Throwaway in-memory PGlite instead of DATA_DIR/pg (tests). Ignored when DATABASE_URL is set. */
  inMemoryDatabase?: boolean
  /** An in-memory PGlite starts from this data-folder snapshot (a migrated template: tests). */
  pgliteTemplate?: Blob | undefined
  clock?: Clock
  /** false: no background work in this process (see plugins/jobs.ts). */
  background?: boolean
}

const PROBE_TAG = { name: 'operations', description: 'Liveness and readiness probes' }

/** The application as a plugin: infrastructure first, then the public probes and /api/v1. */
export const app: FastifyPluginAsync<AppOptions> = async (fastify, options) => {
  await fastify.register(configPlugin, { config: options.config, clock: options.clock ?? systemClock })
  await fastify.register(routeTable)
  await fastify.register(errors)
  await fastify.register(requestGuards)
  await fastify.register(swagger, { tags: [...GROUPS.flatMap((group) => (group.tag ? [group.tag] : [])).filter((tag, i, all) => all.findIndex((other) => other.name === tag.name) === i), PROBE_TAG] })
  await fastify.register(schemas, { groupSchemas: GROUPS.map((group) => group.schemas ?? []) })
  await fastify.register(db, { inMemory: options.inMemoryDatabase ?? false, pgliteTemplate: options.pgliteTemplate })
  await fastify.register(redis)
  await fastify.register(cacheBus)
  await fastify.register(jobs, { background: options.background ?? true })
  await fastify.register(idempotencyStore)
  await fastify.register(services, { groups: GROUPS })
  await fastify.register(verifier)
  await fastify.register(usageLog)
  await fastify.register(rateLimitStore)
  await fastify.register(authFailures)
  await fastify.register(health)
  await fastify.register(v1, { prefix: '/api/v1', groups: GROUPS })
}

export interface BuildOptions {
  inMemoryDatabase?: boolean
  pgliteTemplate?: Blob | undefined
  clock?: Clock
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: DestinationStream
  /** false: an app borrowed by a short-lived process (the CLI): it runs no jobs, no periodic work. */
  background?: boolean
}

/** Builds the app exactly as the server runs it; the server, the CLI and the tests all call this. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const fastify = Fastify({
    logger: loggerOptions(config, options.logStream),
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    bodyLimit: config.BODY_LIMIT,
    // Explicit timeouts: a slow or idle client cannot hold a connection for ever.
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    // Opening the embedded database and migrating it can take well over Fastify's default 10 s
    // on a loaded machine; a slow start is not a failed one.
    pluginTimeout: 120_000,
    // Our own ids; an incoming X-Request-Id is not trusted as a log correlation key.
    requestIdHeader: false,
    genReqId: newRequestId,
    // Errors raised before routing (a URL that is not valid percent-encoding, an over-long path
    // parameter) and by Node's HTTP parser (oversized headers, timeouts) leave through the one
    // catalogue too, as problem+json with a request id.
    frameworkErrors: (error, request, reply) => {
      sendProblem(request, reply, fromFastifyError(error) ?? new ApiError('bad_request', 'The request could not be understood.'))
    },
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return
      if (socket.writable) socket.write(rawProblemResponse(fromClientError(error), newRequestId()))
      socket.destroy(error)
    },
    // One compiled serialiser per distinct response schema in the process (see serializers.ts).
    schemaController: { compilersFactory: { buildSerializer: cachedSerializerFactory } },
    ajv: {
      customOptions: {
        // Unknown fields are an error (additionalProperties: false), not silently dropped.
        removeAdditional: false,
        allErrors: true,
        coerceTypes: 'array',
        // `type: ['string', 'number']` lists (cheaper to serialise than anyOf, see schema-kit).
        allowUnionTypes: true,
        useDefaults: true,
      },
      // After ajv-formats: every request date-time must also be a date PostgreSQL can store.
      onCreate: (ajv) => {
        const rfc3339 = ajv.formats['date-time'] as { validate: (value: string) => boolean }
        ajv.addFormat('date-time', storableDateTimeFormat(rfc3339.validate))
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>()
  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    done(null, payload)
  })
  // fp: the app's decorations (config, database, keys, …) are visible to the caller, as the
  // server's bootstrap and the tests need.
  await fastify.register(fp(app, { name: 'voxpria-app' }), {
    config, inMemoryDatabase: options.inMemoryDatabase ?? false, pgliteTemplate: options.pgliteTemplate, clock: options.clock, background: options.background ?? true,
  })
  return fastify as unknown as FastifyInstance
}
