import type { ResourceGroup } from './group.js'
import accounts from './accounts.js'
import keys from './keys/index.js'
import keyUsage from './key-usage/index.js'
import credits from './credits/index.js'
import audit from './audit-log/index.js'
import alerts from './alerts/index.js'
import settings from './settings/index.js'
import agents from './agents/index.js'
import contacts from './contacts/index.js'
import calls from './calls/index.js'
import concurrency from './concurrency/index.js'

/**
 * The one registry of resource groups: a group is added to the API by one line here. Services
 * are built in this order, schemas registered in it, routes mounted under their prefixes.
 */
export const GROUPS: readonly ResourceGroup[] = [accounts, keys, keyUsage, credits, audit, alerts, settings, agents, contacts, calls, concurrency] as readonly ResourceGroup[]
