// A program whose main thread ends with pthread_exit(): it must end when its last thread does,
// even with rseqmalloc's release thread running beside it (run under LD_PRELOAD by
// preload_program_test.sh).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void* Worker(void*) {
  usleep(200000);
  void* p = malloc(100);
  free(p);
  puts("worker done");
  return nullptr;
}

int main() {
  pthread_t thread;
  if (pthread_create(&thread, nullptr, Worker, nullptr) != 0) return 1;
  puts("main thread exits");
  fflush(stdout);
  pthread_exit(nullptr);
}
