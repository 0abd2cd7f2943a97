import type { FastifyInstance } from 'fastify'

/**
 * First start on the embedded default: a Demo account with one all-scope key, so a new user can
 * call the API within a minute. Returns the key (to be shown once), or null when there is nothing
 * to do. Never runs against DATABASE_URL, nor in production: real accounts come from the CLI.
 */
export async function bootstrapDemoAccount(fastify: FastifyInstance): Promise<{ accountId: string; key: string } | null> {
  if (fastify.config.DATABASE_URL) return null
  // A production deployment's stdout is a log stream: never print a secret there.
  if (fastify.config.NODE_ENV === 'production') return null
  const { accounts } = fastify.services
  if ((await accounts.count()) > 0) return null
  const { account, key } = await accounts.createWithKey({ name: 'Demo', plan: 'free_trial' }, { id: 'bootstrap', ip: null })
  return { accountId: account.id, key: key.key }
}

/** The banner goes straight to the terminal (stdout), never through the logger. */
export function bootstrapBanner(accountId: string, key: string, baseUrl: string): string {
  const rule = '='.repeat(78)
  return [
    '',
    rule,
    '  VoxPria API: first start. A "Demo" account (free trial, $10.00 credit) was created',
    `  (${accountId}) with one API key holding all 13 scopes. It is shown ONCE:`,
    '',
    `      ${key}`,
    '',
    '  Try it:',
    `      curl ${baseUrl}/api/v1/credits/balance -H "Authorization: Bearer ${key}"`,
    `      curl ${baseUrl}/api/v1/credits/balance -H "X-API-Key: ${key}"`,
    '',
    `  API docs: ${baseUrl}/docs`,
    rule,
    '',
  ].join('\n')
}
