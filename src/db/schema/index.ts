export * from './accounts.js'
export * from './api-keys.js'
export * from './credits.js'
export * from './audit-log.js'
