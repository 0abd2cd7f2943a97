import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { parseCidr } from './cidr.js'

/**
 * Every setting the service reads from its environment. The Config type is derived from this
 * schema, so a variable cannot be documented, validated and typed in three different places.
 */
export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { default: 'development' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  /** Unset → embedded PGlite in DATA_DIR/pg. */
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  /** Unset → in-process limiter, caches and events (single instance only). */
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /**
   * Prepended to every Redis key and pub/sub channel, so deployments sharing one Redis (pub/sub
   * ignores the database number) never see each other's counters, blocks or events. Unset →
   * `voxpria:<database name>`, or `voxpria` on the embedded default.
   */
  REDIS_PREFIX: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' })),
  /** Unset/false → socket address is the client; else a hop count or a list of proxy IPs/CIDRs. */
  TRUST_PROXY: Type.String({ default: 'false', pattern: '^(false|\\d+|[0-9a-fA-F:.,/ ]+)$' }),
  /** The service's public address, written into the OpenAPI document's `servers`; unset → relative (`/`). */
  PUBLIC_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  /** HMAC secret for key digests. Required in production; generated into DATA_DIR otherwise. */
  KEY_PEPPER: Type.Optional(Type.String({ minLength: 32 })),
  DATA_DIR: Type.String({ minLength: 1, default: './.data' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  /** Largest accepted request body, in bytes. */
  BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 10 * 1024 * 1024, default: 1024 * 1024 }),
  /** Failed authentications a client address may make per minute before it is refused outright. */
  AUTH_FAILURES_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 100000, default: 30 }),
  /** What the per-key limiter does when Redis errors: serve from the in-process store, or refuse. */
  RATE_LIMIT_ON_REDIS_ERROR: Type.Union([Type.Literal('open'), Type.Literal('closed')], { default: 'open' }),
  /** Milliseconds before a Redis command is abandoned; the limiter must never hang a request. */
  REDIS_COMMAND_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 10000, default: 250 }),
  /** How long a verified key stays in the in-process cache, in milliseconds. */
  KEY_CACHE_TTL_MS: Type.Integer({ minimum: 0, maximum: 300000, default: 30000 }),
  /** Per-request usage logging (on by default; the benchmark compares on and off). */
  USAGE_LOG_ENABLED: Type.Boolean({ default: true }),
  /** Raw usage rows and failed-authentication records older than this are pruned. */
  USAGE_LOG_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  /** Entries buffered before a flush is forced. */
  USAGE_BUFFER_SIZE: Type.Integer({ minimum: 10, maximum: 1_000_000, default: 5_000 }),
  /**
   * Entries held at most while the database is slow; beyond, new ones are dropped and counted.
   * The default rides out a ~2 s stall at 25,000 requests/s, in ~10 MB.
   */
  USAGE_BUFFER_MAX: Type.Integer({ minimum: 10, maximum: 10_000_000, default: 50_000 }),
  /** Longest an entry waits in the buffer before it is written, in milliseconds. */
  USAGE_FLUSH_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1_000 }),
  /** Largest contact import file, in bytes (its own limit, far above BODY_LIMIT: imports stream). */
  IMPORT_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 10 * 1024 * 1024 * 1024, default: 200 * 1024 * 1024 }),
  /** Rows applied per import batch (each batch is one transaction with the import's counters). */
  IMPORT_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 20_000, default: 2_000 }),
  /** An unfinished import without progress for this long is resumed by another instance. */
  IMPORT_STALL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  /** Simulated seconds per real second on the simulated carrier (tests and benchmarks speed calls up). */
  SIMULATED_CARRIER_TIME_SCALE: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
  /** How often each instance looks for call transitions that are due, in milliseconds. */
  CALL_TICK_MS: Type.Integer({ minimum: 10, maximum: 5_000, default: 100 }),
  /** A live call this long (real seconds) past its max duration is ended by the sweeper with carrier_error. */
  CALL_SWEEP_GRACE_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  /** The caller id a call shows when the request names no `from` (E.164). */
  DEFAULT_CALLER_ID: Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$', default: '+14155550199' }),
  /** How often the alert detectors (and the retention job) run, in seconds. */
  ALERT_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`invalid configuration: ${variable} ${message}`)
    this.name = 'ConfigError'
  }
}

const NUMERIC_KEYS = new Set([
  'PORT', 'BODY_LIMIT', 'AUTH_FAILURES_PER_MINUTE', 'REDIS_COMMAND_TIMEOUT_MS', 'KEY_CACHE_TTL_MS',
  'USAGE_LOG_RETENTION_DAYS', 'USAGE_BUFFER_SIZE', 'USAGE_BUFFER_MAX', 'USAGE_FLUSH_INTERVAL_MS', 'ALERT_INTERVAL_SECONDS',
  'IMPORT_MAX_BYTES', 'IMPORT_BATCH_SIZE', 'IMPORT_STALL_SECONDS', 'SIMULATED_CARRIER_TIME_SCALE', 'CALL_TICK_MS', 'CALL_SWEEP_GRACE_SECONDS',
])
const BOOLEAN_KEYS = new Set(['USAGE_LOG_ENABLED'])
const SECRET_KEYS = new Set(['KEY_PEPPER', 'DATABASE_URL', 'REDIS_URL'])

/**
 * Builds the Config from an environment, keeping only the variables the schema names (the process
 * environment holds many unrelated ones). Empty strings count as unset. Throws a ConfigError naming
 * the first offending variable, so a bad deployment stops with one clear line.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key]
    if (value === undefined || value === '') continue
    if (NUMERIC_KEYS.has(key) && /^\d+$/.test(value)) raw[key] = Number(value)
    else if (BOOLEAN_KEYS.has(key) && /^(true|false)$/.test(value)) raw[key] = value === 'true'
    else raw[key] = value
  }
  Object.assign(raw, overrides)
  const withDefaults = Value.Default(ConfigSchema, raw)
  const error = Value.Errors(ConfigSchema, withDefaults).First()
  if (error) {
    const variable = error.path.replace(/^\//, '') || 'configuration'
    // Secrets and credential-bearing URLs are never echoed: this line lands in deployment logs.
    const shown = SECRET_KEYS.has(variable) ? '' : ` (got ${JSON.stringify(error.value)})`
    throw new ConfigError(variable, `${error.message}${shown}`)
  }
  const config = withDefaults as Config
  if (config.NODE_ENV === 'production' && !config.KEY_PEPPER) {
    throw new ConfigError('KEY_PEPPER', 'is required when NODE_ENV=production (at least 32 characters)')
  }
  if (config.USAGE_BUFFER_MAX < config.USAGE_BUFFER_SIZE) {
    throw new ConfigError('USAGE_BUFFER_MAX', `must be at least USAGE_BUFFER_SIZE (${config.USAGE_BUFFER_SIZE}) (got ${config.USAGE_BUFFER_MAX})`)
  }
  parseTrustProxy(config.TRUST_PROXY)
  return config
}

/** Fastify's trust function: (address of a hop, its index counting from the socket) → trusted. */
export type TrustProxy = false | string[] | ((address: string, hop: number) => boolean)

/**
 * Translates TRUST_PROXY into Fastify's `trustProxy`. `true` (trust every hop, i.e. believe any
 * client's X-Forwarded-For) is refused outright. A hop count is honoured as "the N nearest hops are
 * ours" — Fastify itself ignores a bare number — which is only sound when the service cannot be
 * reached except through those proxies; naming the proxies' addresses is safer.
 */
export function parseTrustProxy(value: string): TrustProxy {
  const trimmed = value.trim()
  if (trimmed === 'false' || trimmed === '0') return false
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed)
    return (_address, hop) => hop < hops
  }
  const entries = trimmed.split(',').map((entry) => entry.trim()).filter(Boolean)
  if (entries.length === 0) throw new ConfigError('TRUST_PROXY', 'names no proxy')
  const invalid = entries.find((entry) => parseCidr(entry) === null)
  if (invalid) throw new ConfigError('TRUST_PROXY', `entry "${invalid}" is not an IP address or CIDR`)
  return entries
}

/** The Redis namespace in effect: REDIS_PREFIX, else derived from the database's name. */
export function redisPrefix(config: Pick<Config, 'REDIS_PREFIX' | 'DATABASE_URL'>): string {
  if (config.REDIS_PREFIX) return config.REDIS_PREFIX
  if (!config.DATABASE_URL) return 'voxpria'
  let name = ''
  try {
    name = decodeURIComponent(new URL(config.DATABASE_URL).pathname.slice(1))
  } catch {
    name = ''
  }
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 56)
  return safe ? `voxpria:${safe}` : 'voxpria'
}
