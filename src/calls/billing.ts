/**
 * Per-second billing at a rate in cents per minute: cost = ceil(billable_seconds × rate / 60),
 * integer cents. `affordableSeconds` is its inverse, rounded down: the most seconds a balance pays
 * for, so a call cut there never costs more than the balance holds.
 */
export function costCents(billableSeconds: number, centsPerMinute: number): number {
  return Math.ceil((billableSeconds * centsPerMinute) / 60)
}

export function affordableSeconds(balanceCents: number, centsPerMinute: number): number {
  return balanceCents <= 0 ? 0 : Math.floor((balanceCents * 60) / centsPerMinute)
}
