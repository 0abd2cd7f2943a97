import { sql } from 'drizzle-orm'
import { contacts, type ContactRow } from '../db/schema/index.js'
import { isoText } from '../resource/list-page.js'

/**
 * The public contact object as JSON text, built by PostgreSQL, for lists (as calls' PUBLIC_CALL_JSON):
 * a page of 100 contacts cost the service ~1.2–2.4 ms of CPU mapping rows to objects, turning two
 * timestamps a row into Dates and back and serialising it all, and that CPU and its garbage were
 * the list's p99 on two cores. Keys are in the order of the `Contact` schema, so a listed contact
 * parses to exactly what GET /contacts/{id} serialises from `presentContact`: the same keys in the
 * same order (custom_fields keep jsonb's key order either way) and the same values — a test holds
 * the two equal. Only the spelling differs: PostgreSQL puts spaces after `:` and `,`, and writes a
 * number of 1e21 or more in full where JavaScript writes `1e+21`.
 */
export const PUBLIC_CONTACT_JSON = sql`json_build_object(
  'id', ${contacts.id}, 'phone', ${contacts.phone}, 'first_name', ${contacts.firstName}, 'last_name', ${contacts.lastName},
  'email', ${contacts.email}, 'timezone', ${contacts.timezone}, 'tags', ${contacts.tags}, 'custom_fields', ${contacts.customFields},
  'do_not_call', ${contacts.doNotCall}, 'external_id', ${contacts.externalId},
  'created_at', ${isoText(contacts.createdAt)}, 'updated_at', ${isoText(contacts.updatedAt)})::text`

export function presentContact(row: ContactRow) {
  return {
    id: row.id,
    phone: row.phone,
    first_name: row.firstName,
    last_name: row.lastName,
    email: row.email,
    timezone: row.timezone,
    tags: row.tags,
    custom_fields: row.customFields,
    do_not_call: row.doNotCall,
    external_id: row.externalId,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}
