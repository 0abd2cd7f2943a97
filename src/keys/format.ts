import { crc32 } from 'node:zlib'
import { randomBase62 } from '../ids.js'

/**
 * API key format: `vxp_` + 43 base62 characters of CSPRNG output (43 × log2(62) ≈ 256 bits) +
 * a 6-character base62 CRC32 of that random part. The fixed prefix lets secret scanners find
 * leaked keys; the checksum lets us refuse typos and garbage before any database or Redis call.
 */
export const KEY_PREFIX = 'vxp_'
export const KEY_RANDOM_LENGTH = 43
export const KEY_CHECKSUM_LENGTH = 6
export const KEY_LENGTH = KEY_PREFIX.length + KEY_RANDOM_LENGTH + KEY_CHECKSUM_LENGTH
/** Characters of the key shown in listings to help a person recognise it: `vxp_` + 8. */
export const DISPLAY_PREFIX_LENGTH = KEY_PREFIX.length + 8

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const KEY_SHAPE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${KEY_RANDOM_LENGTH + KEY_CHECKSUM_LENGTH}}$`)

function checksum(random: string): string {
  let value = crc32(random)
  let out = ''
  for (let i = 0; i < KEY_CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out
    value = Math.floor(value / 62)
  }
  return out
}

export function generateApiKey(): string {
  const random = randomBase62(KEY_RANDOM_LENGTH)
  return `${KEY_PREFIX}${random}${checksum(random)}`
}

/** True when the value has the key's exact shape and a matching checksum. Pure: no I/O. */
export function isWellFormedApiKey(value: string): boolean {
  if (value.length !== KEY_LENGTH || !KEY_SHAPE.test(value)) return false
  const random = value.slice(KEY_PREFIX.length, KEY_PREFIX.length + KEY_RANDOM_LENGTH)
  return checksum(random) === value.slice(KEY_PREFIX.length + KEY_RANDOM_LENGTH)
}

export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH)
}

export function lastFour(key: string): string {
  return key.slice(-4)
}
