/*
 * argon2id hashes per second of the C reference implementation, on all cores
 * (scripts/load.sh builds and runs it; README "Load").
 *
 * Issue 11 compares password logins with "the raw argon2id rate of the C reference
 * implementation with the same parameters". This is that rate: phc-winner-argon2, built by
 * its own Makefile (OPTTARGET=native: AVX-512F, AVX2 or SSE2, as this CPU has), called with
 * argon2id_hash_raw as a C program calls it (each call allocates its block, wipes and frees
 * it). One thread per core.
 *
 *     c_reference SECONDS [MEMORY_KIB ITERATIONS]
 *     prints: c_reference_argon2id_hashes_per_second N
 */
#define _POSIX_C_SOURCE 200809L
#include <argon2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long done;
static atomic_int failed;
static uint32_t memory_kib = 19456, iterations = 2;

static void *work(void *unused) {
  static const char password[] = "correct horse battery staple, twice";
  static const char salt[] = "a fixed salt 16B";
  unsigned char out[32];
  long n = 0;
  (void)unused;
  while (!atomic_load(&stop)) {
    int code = argon2id_hash_raw(iterations, memory_kib, 1, password, sizeof password - 1,
                                 salt, sizeof salt - 1, out, sizeof out);
    if (code != ARGON2_OK) {
      fprintf(stderr, "argon2id_hash_raw: %s\n", argon2_error_message(code));
      atomic_store(&failed, 1);
      atomic_store(&stop, 1);
    }
    n++;
  }
  atomic_fetch_add(&done, n);
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 5;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  pthread_t *threads;
  struct timespec wait;
  double started;
  long i;
  if (argc > 3) {
    memory_kib = (uint32_t)atol(argv[2]);
    iterations = (uint32_t)atol(argv[3]);
  }
  if (seconds <= 0 || cores < 1) {
    fprintf(stderr, "usage: c_reference SECONDS [MEMORY_KIB ITERATIONS]\n");
    return 2;
  }
  threads = calloc((size_t)cores, sizeof *threads);
  started = now();
  for (i = 0; i < cores; i++) {
    if (pthread_create(&threads[i], NULL, work, NULL) != 0) return 1;
  }
  wait.tv_sec = (time_t)seconds;
  wait.tv_nsec = (long)((seconds - (double)wait.tv_sec) * 1e9);
  nanosleep(&wait, NULL);
  atomic_store(&stop, 1);
  for (i = 0; i < cores; i++) pthread_join(threads[i], NULL);
  if (atomic_load(&failed)) return 1;
  /* The last hash of each thread ran past the stop: its time counts too. */
  printf("c_reference_argon2id_hashes_per_second %.1f\n", atomic_load(&done) / (now() - started));
  return 0;
}
