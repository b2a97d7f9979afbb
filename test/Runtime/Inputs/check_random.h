/* Random floats in [-1, 1) for the runtime's kernel checks: xorshift64,
 * seeded per program so that a failure reproduces. */
#ifndef KILN_TEST_CHECK_RANDOM_H
#define KILN_TEST_CHECK_RANDOM_H

static unsigned long long check_random_state = 88172645463325252ull;

static void seed_random(unsigned long long seed) { check_random_state = seed ? seed : 1; }

static float randf(void) {
  check_random_state ^= check_random_state << 13;
  check_random_state ^= check_random_state >> 7;
  check_random_state ^= check_random_state << 17;
  return (float)((check_random_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

#endif
