import type { Database } from './client.js'

export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0]
/** Either the database or an open transaction: services that compose take this. */
export type Executor = Database | Transaction
