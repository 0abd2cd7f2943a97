import t from 'tap'
import {
  BUCKET_COUNT, LATENCY_BUCKET_BOUNDS_MS, OVERFLOW_REPORTED_MS, bucketOf, emptyHistogram, percentile,
} from '../../src/usage/histogram.js'

t.test('bucketOf: upper bounds are inclusive; beyond the last bound is the open bucket', async (t) => {
  t.equal(bucketOf(0), 0)
  t.equal(bucketOf(1), 0, '1 ms is in the ≤1 bucket')
  t.equal(bucketOf(1.2), 1)
  t.equal(bucketOf(5), 2)
  t.equal(bucketOf(6), 3)
  t.equal(bucketOf(30_000), LATENCY_BUCKET_BOUNDS_MS.length - 1)
  t.equal(bucketOf(30_001), BUCKET_COUNT - 1, 'overflow')
  t.equal(emptyHistogram().length, BUCKET_COUNT)
})

t.test('percentile: nearest rank, reported as the bucket’s upper bound', async (t) => {
  const histogram = emptyHistogram()
  histogram[bucketOf(3)] = 50 // ≤5
  histogram[bucketOf(40)] = 49 // ≤50
  histogram[bucketOf(700)] = 1 // ≤1000
  t.equal(percentile(histogram, 50), 5, 'rank 50 of 100 is the last of the ≤5 bucket')
  t.equal(percentile(histogram, 51), 50)
  t.equal(percentile(histogram, 99), 50, 'rank 99 is still in ≤50')
  t.equal(percentile(histogram, 100), 1000)
  t.equal(percentile(emptyHistogram(), 50), null, 'no requests, no percentile')
  const slow = emptyHistogram()
  slow[BUCKET_COUNT - 1] = 1
  t.equal(percentile(slow, 50), OVERFLOW_REPORTED_MS, 'the open bucket reports its lower bound (“at least”)')
})
