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

/**
 * Parses one allowlist entry — an address or a CIDR — into a range. Host bits set below the
 * prefix (10.0.0.7/24) are refused rather than silently widened: the customer meant something.
 * Returns null for anything that is not a valid address or CIDR.
 */
export function parseCidr(entry: string): CidrRange | null {
  const text = entry.trim()
  const addressPart = text.split('/')[0] ?? ''
  // ipaddr.js also accepts legacy IPv4 spellings (0x7f.1, 2130706433); an allowlist must not.
  if (!addressPart.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(addressPart)) return null
  try {
    if (!text.includes('/')) {
      const address = normalise(ipaddr.parse(text))
      return [address, address.kind() === 'ipv4' ? 32 : 128]
    }
    if (!ipaddr.isValidCIDR(text)) return null
    let [address, bits] = ipaddr.parseCIDR(text)
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      address = (address as ipaddr.IPv6).toIPv4Address()
      bits -= 96
    }
    const network = address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`)
    if (network.toString() !== address.toString()) return null
    return [address, bits]
  } catch {
    return null
  }
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

/** Parses a client address as Fastify reports it; null when it is not an IP at all. */
export function parseClientAddress(ip: string): Address | null {
  try {
    return normalise(ipaddr.parse(ip))
  } catch {
    return null
  }
}

/** Empty list = any address. An unparseable client address never matches a non-empty list. */
export function isAllowed(ranges: readonly CidrRange[], client: Address | null): boolean {
  if (ranges.length === 0) return true
  if (!client) return false
  return ranges.some(([network, bits]) => network.kind() === client.kind() && client.match(network, bits))
}
