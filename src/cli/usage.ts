import { ENTERPRISE_DEFAULT_CALL_RATE_CENTS, ENTERPRISE_DEFAULT_CONCURRENT_CALLS, ENTERPRISE_DEFAULT_LIMITS, PLANS } from '../plans.js'
import { SCOPES } from '../scopes.js'
import { DEFAULT_ROTATION_OVERLAP_SECONDS, MAX_ROTATION_OVERLAP_SECONDS } from '../keys/service.js'
import { MAX_GRANT_CENTS } from '../credits/service.js'

/** Joins items with ", ", breaking lines before `width` and indenting the continuation lines. */
function wrap(items: readonly string[], indent: string, width = 96): string {
  const lines = ['']
  for (const item of items) {
    const line = lines.at(-1)!
    if (line && indent.length + line.length + item.length + 2 > width) lines.push(item)
    else lines[lines.length - 1] = line ? `${line}, ${item}` : item
  }
  return lines.join(`,\n${indent}`)
}

export const USAGE = `Usage: npm run --silent cli -- <command> [options]

Operator commands for the VoxPria API. They use the server's database and key pepper
(DATABASE_URL, or the embedded PGlite folder DATA_DIR; KEY_PEPPER, or DATA_DIR/key-pepper).
PGlite allows one process at a time: on the embedded default, stop the server first.

Commands:
  migrate
      Apply pending database migrations.
  accounts create --name NAME --plan PLAN [--hourly-limit N --burst-limit N] [--call-rate CENTS] [--concurrent-calls N] [--json]
      Create an account and its first API key (all 13 scopes). The key is shown once.
  accounts list [--json]
      List every account with its plan and credit balance, oldest first.
  accounts update ID [--name NAME] [--plan PLAN] [--hourly-limit N] [--burst-limit N] [--call-rate CENTS] [--concurrent-calls N] [--default-limits] [--json]
      Change an account's name, plan or enterprise limits.
  credits grant --account ID --amount CENTS --description TEXT [--json]
      Add credit to an account (a "grant" ledger entry, audited). CENTS from 1 to ${MAX_GRANT_CENTS}.
  keys create --account ID --scopes SCOPE[,SCOPE...] [--name NAME]
              [--ip-allowlist CIDR[,CIDR...]] [--expires-at ISO-8601] [--json]
      Create an API key (default name "CLI key"). The key is shown once.
  keys list --account ID [--json]
      List an account's keys. Secrets are never shown.
  keys revoke ID [--json]
      Revoke a key at once (a key already revoked is left as it is, and said so).
  keys rotate ID [--expire-old-in-seconds N] [--json]
      Issue a successor with the same name, scopes and allowlist; the old key keeps working
      for N seconds (default ${DEFAULT_ROTATION_OVERLAP_SECONDS}, at most ${MAX_ROTATION_OVERLAP_SECONDS}, 0 = stops now). The new key is shown once.

Plans:  ${PLANS.join(', ')}
        (--hourly-limit, --burst-limit, --call-rate and --concurrent-calls apply to enterprise only;
        --default-limits returns an enterprise account to ${ENTERPRISE_DEFAULT_LIMITS.hourly}/hour, ${ENTERPRISE_DEFAULT_LIMITS.burst}/minute,
        ${ENTERPRISE_DEFAULT_CALL_RATE_CENTS} cents/minute of talk and ${ENTERPRISE_DEFAULT_CONCURRENT_CALLS} calls at once)
Scopes: ${wrap(SCOPES, '        ')}

Options:
  --json      print the result as one line of JSON
  -h, --help  show this help

Exit status: 0 done, 2 bad arguments or refused (e.g. unknown id, the embedded database in use),
1 unexpected failure.
`
