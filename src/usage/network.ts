import ipaddr from 'ipaddr.js'
import { parseClientAddress } from '../cidr.js'

/**
 * The address as stored: IPv4-mapped IPv6 (`::ffff:192.0.2.1`) is the IPv4 address it carries,
 * IPv6 in its canonical compressed form, so filters and comparisons see one spelling per host.
 * A value that is not an address at all is kept verbatim.
 */
export function canonicalAddress(ip: string): string {
  return parseClientAddress(ip)?.toString() ?? ip
}

/**
 * The client's network as the `new_network` alert compares it: the /24 of an IPv4 address, the
 * /48 of an IPv6 one (a site; the /64 is one LAN and would flag every office's second subnet).
 */
export function clientNetwork(ip: string): string {
  const address = parseClientAddress(ip)
  if (!address) return ip
  if (address.kind() === 'ipv4') return `${ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/24`).toString()}/24`
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/48`).toString()}/48`
}
