import { or, sql, type SQL } from 'drizzle-orm'
import { contactSearchTerms, contacts } from '../db/schema/index.js'

/**
 * The list's `q`: the start of the first name, last name or email (contactSearchTerms' GIN
 * index), or of the phone number (its unique index, text_pattern_ops). Every character of `q`
 * is literal in both.
 */
export function searchCondition(accountId: string, q: string): SQL {
  return or(
    sql`${contactSearchTerms(contacts)} @@ ${prefixQuery(accountId, q.toLowerCase())}::tsquery`,
    sql`${contacts.phone} like ${prefixPattern(q)}`,
  )!
}

/**
 * The tsquery for contactSearchTerms' lexemes that start with this account's `prefix`: one quoted
 * lexeme (a quote doubled, a backslash escaped, so `q` is never tsquery syntax) marked `:*`.
 */
function prefixQuery(accountId: string, prefix: string): string {
  return `'${`${accountId} ${prefix}`.replace(/\\/g, '\\\\').replace(/'/g, "''")}':*`
}

/** LIKE pattern for a literal prefix: `%`, `_` and `\` match themselves. */
function prefixPattern(text: string): string {
  return `${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`
}
