import ipaddr from 'ipaddr.js'

/** Most entries one key's allowlist may hold. */
export const MAX_ALLOWLIST_ENTRIES = 100

type Address = ipaddr.IPv4 | ipaddr.IPv6
export type CidrRange = [Address, number]

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address it carries. */
function normalise(address: Address): Address {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address
}

const DOTTED_TAIL = /(?:^|:)([^:]*\.[^:]*)$/

/**
 * The one address parser, for allowlist entries as they are written and for client addresses as
 * they are checked: an address that could be read two ways is no address. ipaddr.js alone also
 * takes legacy IPv4 spellings (`012.0.0.1` octal, `167772161`, `0x0a.0.0.1`, `1.2.3`) and IPv6 zone
 * ids (`fe80::1%eth0`, which cannot be written back as a CIDR); these are refused, in an embedded
 * IPv4 tail (`::ffff:012.0.0.1`) too. Returns null for anything that is not a strict address.
 */
export function parseAddress(text: string): Address | null {
  if (text.length === 0 || text.length > 64 || text.includes('%')) return null
  if (text.includes(':')) {
    const tail = DOTTED_TAIL.exec(text)?.[1]
    if (tail !== undefined && !ipaddr.IPv4.isValidFourPartDecimal(tail)) return null
    if (!ipaddr.IPv6.isValid(text)) return null
  } else if (!ipaddr.IPv4.isValidFourPartDecimal(text)) {
    return null
  }
  try {
    return normalise(ipaddr.parse(text))
  } catch {
    return null
  }
}

/**
 * Parses one allowlist entry — an address or a CIDR — into a range. Host bits set below the
 * prefix (10.0.0.7/24) are refused rather than silently widened: the customer meant something.
 * Returns null for anything that is not a valid address or CIDR, so what is stored is exactly what
 * the verifier can read back.
 */
export function parseCidr(entry: string): CidrRange | null {
  const text = entry.trim()
  const slash = text.indexOf('/')
  const parsed = parseAddress(slash === -1 ? text : text.slice(0, slash))
  if (!parsed) return null
  if (slash === -1) return [parsed, parsed.kind() === 'ipv4' ? 32 : 128]
  const bitsText = text.slice(slash + 1)
  if (!/^(0|[1-9]\d{0,2})$/.test(bitsText)) return null
  let bits = Number(bitsText)
  const address = parsed
  // ::ffff:a.b.c.d/120 was normalised to a.b.c.d: its prefix counts the 96 mapped bits too.
  if (address.kind() === 'ipv4' && text.slice(0, slash).includes(':')) {
    if (bits < 96) return null
    bits -= 96
  }
  if (bits > (address.kind() === 'ipv4' ? 32 : 128)) return null
  const network = address.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`)
  if (network.toString() !== address.toString()) return null
  return [address, bits]
}

/** The canonical text of an entry, as stored and returned (`10.0.0.0/8`, `2001:db8::/32`). */
export function canonicalCidr(range: CidrRange): string {
  return `${range[0].toString()}/${range[1]}`
}

export interface AllowlistValidation {
  entries: string[]
  invalid: { index: number; entry: string }[]
}

/** Validates and canonicalises a whole allowlist; duplicates collapse to one entry. */
export function validateAllowlist(entries: readonly string[]): AllowlistValidation {
  const canonical: string[] = []
  const invalid: AllowlistValidation['invalid'] = []
  entries.forEach((entry, index) => {
    const range = parseCidr(entry)
    if (!range) invalid.push({ index, entry })
    else {
      const text = canonicalCidr(range)
      if (!canonical.includes(text)) canonical.push(text)
    }
  })
  return { entries: canonical, invalid }
}

/** A stored allowlist as the verifier reads it: its ranges, or `unusable` when any entry does not parse. */
export function readStoredAllowlist(entries: readonly string[]): readonly CidrRange[] | 'unusable' {
  const ranges: CidrRange[] = []
  for (const entry of entries) {
    const range = parseCidr(entry)
    if (!range) return 'unusable'
    ranges.push(range)
  }
  return ranges
}

/** Parses a client address as Fastify reports it (strictly, as parseAddress); null when it is none. */
export function parseClientAddress(ip: string): Address | null {
  return parseAddress(ip)
}

/** Empty list = any address. An unparseable client address never matches a non-empty list. */
export function isAllowed(ranges: readonly CidrRange[], client: Address | null): boolean {
  if (ranges.length === 0) return true
  if (!client) return false
  return ranges.some(([network, bits]) => network.kind() === client.kind() && client.match(network, bits))
}
