import { CloneType, KindGuard, Type, type TSchema } from '@sinclair/typebox'
import { Nullable } from './schema-kit.js'

/**
 * A PATCH body for `schema`: every property optional at every depth, no defaults (a default
 * would turn an omitted field into a change), unknown properties refused at every level. The
 * leaves keep their types and bounds, so each field is validated as the full schema would.
 */
export function partialDeep(schema: TSchema, options: { $id?: string; description?: string; examples?: unknown[] } = {}): TSchema {
  if (KindGuard.IsObject(schema)) {
    const properties = Object.fromEntries(Object.entries(schema.properties)
      .map(([name, property]) => [name, Type.Optional(partialDeep(property))]))
    return Type.Object(properties, { additionalProperties: false, ...options })
  }
  const leaf = (nullableLeaf(schema) ?? CloneType(schema, options)) as TSchema & { default?: unknown }
  delete leaf.default
  return leaf
}

/** A TypeBox `X | null` union (as Value-checked schemas spell it) as the HTTP contract's `Nullable(X)`. */
function nullableLeaf(schema: TSchema): TSchema | undefined {
  if (!KindGuard.IsUnion(schema) || schema.anyOf.length !== 2) return undefined
  const value = schema.anyOf.find((member) => !KindGuard.IsNull(member))
  if (!value || !schema.anyOf.some((member) => KindGuard.IsNull(member)) || typeof value.type !== 'string' || value.type === 'object') return undefined
  const { anyOf: _members, ...outer } = JSON.parse(JSON.stringify(schema)) as { anyOf: unknown }
  return Nullable(value, outer)
}
