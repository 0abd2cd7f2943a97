/** Every detector looks at the 5 minutes before `now`: [now − 5 min, now). */
export const DETECTION_WINDOW_MS = 5 * 60_000
/** request_spike compares with the hour before the window, i.e. 12 windows of 5 minutes. */
export const BASELINE_MS = 60 * 60_000
export const BASELINE_WINDOWS = BASELINE_MS / DETECTION_WINDOW_MS
/** quota_threshold compares with the hourly limit over the last 60 minutes. */
export const QUOTA_WINDOW_MS = 60 * 60_000
/** A finding that persists is raised again at most once per bucket of this size. */
export const REPEAT_BUCKET_MS = 15 * 60_000

export function minus(instant: Date, ms: number): Date {
  return new Date(instant.getTime() - ms)
}

/** The start of the bucket `instant` falls in, as ISO: readable inside a dedupe key. */
export function bucketOf(instant: Date, sizeMs: number): string {
  return new Date(Math.floor(instant.getTime() / sizeMs) * sizeMs).toISOString()
}

/** The window as it appears in alert details. */
export function windowDetails(start: Date, end: Date) {
  return { window_start: start.toISOString(), window_end: end.toISOString() }
}
