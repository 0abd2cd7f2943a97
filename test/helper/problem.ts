import type { LightMyRequestResponse } from 'fastify'

/** The two assertions used, as tap's Test has them. */
interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): unknown
  match(found: unknown, wanted: unknown, message: string): unknown
}

/** The response is an RFC 9457 problem with this status and code (and returns its body). */
export function expectProblem(t: Asserts, response: LightMyRequestResponse, status: number, code: string, message = `${status} ${code}`) {
  t.equal(response.statusCode, status, message)
  t.match(String(response.headers['content-type']), /^application\/problem\+json/, `${message}: problem+json`)
  const body = response.json() as { code: string; status: number; type: string; request_id: string; errors?: { field: string; message: string }[] }
  t.equal(body.code, code, `${message}: code`)
  t.match(body, { status, type: `https://docs.voxpria.com/errors/${code}`, request_id: /^req_/ }, `${message}: problem document`)
  return body
}
