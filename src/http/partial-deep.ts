import { CloneType, KindGuard, Type, type TSchema } from '@sinclair/typebox'

/**
 * A PATCH body for `schema`: every property optional at every depth, no defaults (a default
 * would turn an omitted field into a change), unknown properties refused at every level. The
 * leaves keep their types and bounds, so each field is validated as the full schema would.
 */
export function partialDeep(schema: TSchema, options: { $id?: string; description?: string } = {}): TSchema {
  if (KindGuard.IsObject(schema)) {
    const properties = Object.fromEntries(Object.entries(schema.properties)
      .map(([name, property]) => [name, Type.Optional(partialDeep(property))]))
    return Type.Object(properties, { additionalProperties: false, ...options })
  }
  const leaf = (nullableLeaf(schema) ?? CloneType(schema, options)) as TSchema & { default?: unknown }
  delete leaf.default
  return leaf
}

/**
 * `X | null` as one `type: [x, 'null']` schema. The app's Ajv coerces types, and against
 * `anyOf: [integer ≥ 1, null]` it turns a refused 0 into null (a silent "no limit"); with a type
 * list, 0 stays an integer and fails `minimum` as it should.
 */
function nullableLeaf(schema: TSchema): TSchema | undefined {
  if (!KindGuard.IsUnion(schema) || schema.anyOf.length !== 2) return undefined
  const value = schema.anyOf.find((member) => !KindGuard.IsNull(member))
  if (!value || !schema.anyOf.some((member) => KindGuard.IsNull(member)) || typeof value.type !== 'string' || value.type === 'object') return undefined
  // Plain JSON copies: TypeBox's symbol keys (Kind) must not carry over into the new schema.
  const { type, ...bounds } = JSON.parse(JSON.stringify(value)) as { type: string }
  const { anyOf: _members, ...outer } = JSON.parse(JSON.stringify(schema)) as { anyOf: unknown }
  return Type.Unsafe({ ...bounds, ...outer, type: [type, 'null'] })
}
