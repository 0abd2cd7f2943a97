import type { FastifyReply } from 'fastify'
import { pageJson, type Page } from '../resource/list-page.js'

/**
 * Sends a list page whose objects PostgreSQL serialised (listJsonPage): a string with a JSON
 * content type leaves as it is, so the page is not parsed and serialised again. The type
 * provider types `send` as the response schema's object; this is that object, already
 * serialised (`as never`).
 */
export function sendJsonPage(reply: FastifyReply, page: Page<string>): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(pageJson(page) as never)
}
