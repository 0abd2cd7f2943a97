import t from 'tap'
import { idPattern, newId } from '../../src/ids.js'

t.test('contact ids begin with their creation time; the rest of every id is random', async (t) => {
  const pattern = new RegExp(idPattern('contact'))
  const before = Date.now()
  const first = newId('contact')
  await new Promise((resolve) => setTimeout(resolve, 5))
  const second = newId('contact')
  t.match(first, pattern, 'the same shape as every other id')
  t.match(second, pattern)
  const time = (id: string) => parseInt(id.slice('con_'.length, 'con_'.length + 9), 36)
  t.ok(time(first) >= before && time(first) <= Date.now(), 'the first 9 characters are the time in ms, base 36')
  t.ok(second > first, 'a later contact id sorts after an earlier one')
  const sameMs = Array.from({ length: 1000 }, () => newId('contact'))
  t.equal(new Set(sameMs).size, 1000, 'ids made in the same millisecond differ')
  t.equal(new Set(sameMs.map((id) => id.slice(13))).size, 1000, 'by their random part')

  const keys = Array.from({ length: 1000 }, () => newId('key'))
  t.ok(keys.every((id) => new RegExp(idPattern('key')).test(id)))
  const leading = new Set(keys.map((id) => id.slice(4, 8)))
  t.ok(leading.size > 990, 'other ids carry no time: their leading characters are as random as the rest')
})
