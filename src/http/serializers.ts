import { createHash } from 'node:crypto'
import { SerializerSelector, type Serializer, type SerializerFactory } from '@fastify/fast-json-stringify-compiler'

/**
 * Fastify's response serialisers, compiled once per process instead of once per route, status
 * code and app. fast-json-stringify builds one for every route × status (~500 per app here, most
 * of them the same few problem+json responses), and each build validates its schema and registers
 * every shared schema again: ~1 s of CPU per app start, half of what building a test app cost,
 * and most of a CLI command's start-up. A serialiser depends only on its schema, the shared
 * schemas and the serialiser options, so that is the key — their JSON, hashed — and a different
 * schema can never be given another's serialiser.
 */

const buildDefault = SerializerSelector()
const compiled = new Map<string, Serializer>()

const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value) ?? 'undefined').digest('base64url')

export const cachedSerializerFactory: SerializerFactory = (externalSchemas, serializerOptions) => {
  const compile = buildDefault(externalSchemas, serializerOptions)
  const context = digest([externalSchemas, serializerOptions])
  return (route) => {
    const key = `${context}:${digest(route.schema)}`
    let serializer = compiled.get(key)
    if (!serializer) {
      serializer = compile(route)
      compiled.set(key, serializer)
    }
    return serializer
  }
}
