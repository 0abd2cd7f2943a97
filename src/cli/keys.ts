import { CLI_ACTOR } from '../audit/record.js'
import {
  DEFAULT_ROTATION_OVERLAP_SECONDS, MAX_ROTATION_OVERLAP_SECONDS, type PublicKey,
} from '../keys/service.js'
import { allowlist, idOf, integer, required, requiredName, scopeList, timestamp } from './args.js'
import { json, text, type Command } from './command.js'
import { describeKey, keyTable, secretBlock } from './output.js'

export const KEY_COMMANDS: Record<string, Command> = {
  'keys create': {
    positionals: [],
    options: { 'account': text, 'scopes': text, 'name': text, 'ip-allowlist': text, 'expires-at': text, json },
    prepare(values) {
      const scopes = scopeList(required(values, 'scopes'))
      const accountId = idOf('account', required(values, 'account'))
      const input = {
        name: values.name === undefined ? 'CLI key' : requiredName(values, 'name'),
        scopes,
        ipAllowlist: values['ip-allowlist'] === undefined ? undefined : allowlist(required(values, 'ip-allowlist')),
        expiresAt: values['expires-at'] === undefined ? undefined : timestamp('expires-at', required(values, 'expires-at')),
      }
      return async (app) => {
        // A clear not_found rather than a foreign-key violation from the insert.
        await app.services.accounts.get(accountId)
        // No grantor scopes: an operator may grant any scope.
        const created = await app.services.keys.create(accountId, input, CLI_ACTOR)
        return {
          json: created,
          text: [`Created key ${created.id} for account ${accountId}`, ...describeKey(created), secretBlock(created.key)].join('\n'),
        }
      }
    },
  },

  'keys list': {
    positionals: [],
    options: { account: text, json },
    prepare(values) {
      const accountId = idOf('account', required(values, 'account'))
      return async (app) => {
        await app.services.accounts.get(accountId)
        const keys: PublicKey[] = []
        let cursor: string | undefined
        for (;;) {
          const page = await app.services.keys.list(accountId, { limit: 100, cursor })
          keys.push(...page.data)
          if (!page.has_more || !page.next_cursor) break
          cursor = page.next_cursor
        }
        return { json: { account_id: accountId, data: keys }, text: keyTable(keys) }
      }
    },
  },

  'keys revoke': {
    positionals: ['ID'],
    options: { json },
    prepare(_values, [id]) {
      const keyId = idOf('key', id!)
      return async (app) => {
        const accountId = await app.services.keys.accountOf(keyId)
        // Revoking is idempotent; the operator should still learn that this run changed nothing.
        const earlier = (await app.services.keys.get(accountId, keyId)).status === 'revoked'
        const revoked = await app.services.keys.revoke(accountId, keyId, CLI_ACTOR)
        const headline = earlier
          ? `Key ${revoked.id} of account ${accountId} was already revoked at ${revoked.revoked_at}; nothing changed`
          : `Revoked key ${revoked.id} of account ${accountId}`
        return { json: { ...revoked, already_revoked: earlier }, text: [headline, ...describeKey(revoked)].join('\n') }
      }
    },
  },

  'keys rotate': {
    positionals: ['ID'],
    options: { 'expire-old-in-seconds': text, json },
    prepare(values, [id]) {
      const keyId = idOf('key', id!)
      const overlap = values['expire-old-in-seconds'] === undefined
        ? DEFAULT_ROTATION_OVERLAP_SECONDS
        : integer('expire-old-in-seconds', required(values, 'expire-old-in-seconds'), 0, MAX_ROTATION_OVERLAP_SECONDS)
      return async (app) => {
        const accountId = await app.services.keys.accountOf(keyId)
        const rotated = await app.services.keys.rotate(accountId, keyId, overlap, CLI_ACTOR)
        return {
          json: rotated,
          text: [
            `Rotated key ${keyId} of account ${accountId}; it stops working at ${rotated.previous_key.expires_at}`,
            `New key ${rotated.id}`,
            ...describeKey(rotated),
            secretBlock(rotated.key),
          ].join('\n'),
        }
      }
    },
  },
}
