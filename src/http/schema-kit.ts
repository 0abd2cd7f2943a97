import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox'
import { LABEL_PATTERN } from '../text.js'

/**
 * Schema builders for the HTTP contract, shaped for the two compilers that read it: Ajv validates
 * requests, fast-json-stringify serialises responses. TypeBox's `Union` emits `anyOf`, which
 * fast-json-stringify can only serialise by running an Ajv validation of every branch for every
 * value (per array element, too) — measured as the largest single cost of a /keys/current
 * response. `enum` and `type: [x, 'null']` say the same thing and serialise as plain strings.
 *
 * TypeBox's own `Value` functions do not understand these (they are `Unsafe` kinds): schemas that
 * are checked with `Value` (config, stored settings) keep TypeBox unions.
 */

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' })

/** One of `values`, as `{ type: 'string', enum }`. */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] })
}

/**
 * `X | null` as one `type: [x, 'null']` schema, for a scalar X. Besides serialising cheaply, this
 * keeps Ajv's type coercion honest: against `anyOf: [integer ≥ 1, null]` it would turn a refused 0
 * into null (a silent "no limit"); with a type list, 0 stays an integer and fails `minimum`.
 */
export function Nullable<T extends TSchema>(schema: T, options: SchemaOptions = {}): TUnsafe<Static<T> | null> {
  // Plain JSON copy: TypeBox's symbol keys (Kind) must not carry over into the new schema.
  const { type, ...rest } = JSON.parse(JSON.stringify(schema)) as { type?: unknown }
  if (typeof type !== 'string' || type === 'object' || type === 'array' || type === 'null') {
    throw new TypeError(`Nullable() takes a scalar schema, not ${JSON.stringify(type ?? rest)}`)
  }
  return Type.Unsafe<Static<T> | null>({ ...rest, ...options, type: [type, 'null'] })
}

/**
 * A name people read (keys, agents, …): 1 to `maxLength` characters, at least one visible, and
 * no control, bidi-override or line-separator character (src/text.ts).
 */
export function Label(maxLength = 100, options: SchemaOptions = {}) {
  return Type.String({ minLength: 1, maxLength, pattern: LABEL_PATTERN, ...options })
}
