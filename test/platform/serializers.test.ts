import t from 'tap'
import { cachedSerializerFactory } from '../../src/http/serializers.js'

/**
 * Serialisers are shared across routes and apps of one process (src/http/serializers.ts); sharing
 * must never hand one schema another's serialiser, nor ignore the shared schemas a $ref names.
 */
t.test('a serialiser is reused for the same schema and shared schemas, and only then', async (t) => {
  const shared = (property: string) => ({ Thing: { $id: 'Thing', type: 'object', properties: { [property]: { type: 'string' } } } })
  const ref = { $ref: 'Thing' }
  const data = { a: 'A', b: 'B' }
  const route = (schema: object) => ({ schema, method: 'GET', url: '/x', httpStatus: '200' })

  const first = cachedSerializerFactory(shared('a'), {})(route(ref))
  const again = cachedSerializerFactory(shared('a'), {})({ schema: { $ref: 'Thing' }, method: 'POST', url: '/y', httpStatus: '201' })
  t.equal(again, first, 'an equal schema with equal shared schemas gets the compiled serialiser, in another app or route')
  t.equal(first(data), '{"a":"A"}')

  const otherShared = cachedSerializerFactory(shared('b'), {})(route(ref))
  t.not(otherShared, first, 'the same $ref over other shared schemas is compiled anew')
  t.equal(otherShared(data), '{"b":"B"}', 'and serialises what those shared schemas say')

  const otherSchema = cachedSerializerFactory(shared('a'), {})(route({ type: 'object', properties: { b: { type: 'string' } } }))
  t.equal(otherSchema(data), '{"b":"B"}', 'another schema gets its own serialiser')

  const otherOptions = cachedSerializerFactory(shared('a'), { rounding: 'ceil' })(route({ type: 'object', properties: { n: { type: 'integer' } } }))
  const defaultOptions = cachedSerializerFactory(shared('a'), {})(route({ type: 'object', properties: { n: { type: 'integer' } } }))
  t.equal(otherOptions({ n: 1.2 }), '{"n":2}', 'serialiser options are part of the key')
  t.equal(defaultOptions({ n: 1.2 }), '{"n":1}')
})
