import { CLI_ACTOR } from '../audit/record.js'
import type { AccountPatch } from '../accounts/service.js'
import { idOf, optionalLimit, plan, required, requiredName } from './args.js'
import { UsageError, json, text, type Command } from './command.js'
import { accountTable, describePlan, printable, secretBlock } from './output.js'

export const ACCOUNT_COMMANDS: Record<string, Command> = {
  'accounts create': {
    positionals: [],
    options: { 'name': text, 'plan': text, 'hourly-limit': text, 'burst-limit': text, 'call-rate': text, 'concurrent-calls': text, json },
    prepare(values) {
      const input = {
        name: requiredName(values, 'name'),
        plan: plan(required(values, 'plan')),
        hourlyLimit: optionalLimit(values, 'hourly-limit'),
        burstLimit: optionalLimit(values, 'burst-limit'),
        callRate: optionalLimit(values, 'call-rate'),
        concurrentCallLimit: optionalLimit(values, 'concurrent-calls'),
      }
      return async (app) => {
        const created = await app.services.accounts.createWithKey(input, CLI_ACTOR)
        return {
          json: created,
          text: [
            `Created account ${created.account.id} "${printable(created.account.name)}"`,
            `  plan:   ${describePlan(created.account)}`,
            `  key:    ${created.key.id} "${printable(created.key.name)}" with all ${created.key.scopes.length} scopes`,
            secretBlock(created.key.key),
          ].join('\n'),
        }
      }
    },
  },

  'accounts list': {
    positionals: [],
    options: { json },
    prepare() {
      return async (app) => {
        const accounts = await app.services.accounts.list()
        return { json: { data: accounts }, text: accountTable(accounts) }
      }
    },
  },

  'accounts update': {
    positionals: ['ID'],
    options: { 'name': text, 'plan': text, 'hourly-limit': text, 'burst-limit': text, 'call-rate': text, 'concurrent-calls': text, 'default-limits': { type: 'boolean' }, json },
    prepare(values, [id]) {
      const accountId = idOf('account', id!)
      const defaults = values['default-limits'] === true
      const custom = ['hourly-limit', 'burst-limit', 'call-rate', 'concurrent-calls'].filter((name) => values[name] !== undefined)
      if (defaults && custom.length > 0) {
        throw new UsageError(`--default-limits clears custom limits; it cannot be combined with --${custom[0]}`)
      }
      const patch: AccountPatch = {
        name: values.name === undefined ? undefined : requiredName(values, 'name'),
        plan: values.plan === undefined ? undefined : plan(required(values, 'plan')),
        // null: no custom limit, so the enterprise defaults apply again.
        hourlyLimit: defaults ? null : optionalLimit(values, 'hourly-limit'),
        burstLimit: defaults ? null : optionalLimit(values, 'burst-limit'),
        callRate: defaults ? null : optionalLimit(values, 'call-rate'),
        concurrentCallLimit: defaults ? null : optionalLimit(values, 'concurrent-calls'),
      }
      if (Object.values(patch).every((value) => value === undefined)) {
        throw new UsageError('accounts update needs at least one of --name, --plan, --hourly-limit, --burst-limit, --call-rate, --concurrent-calls, --default-limits')
      }
      return async (app) => {
        // The service tells every running instance (account.changed), over Redis when shared.
        const account = await app.services.accounts.update(accountId, patch, CLI_ACTOR)
        return {
          json: account,
          text: `Updated account ${account.id} "${printable(account.name)}"\n  plan:   ${describePlan(account)}`,
        }
      }
    },
  },
}
