/* A thread joins the main thread after main left with pthread_exit: the
 * join waits for the kernel to clear main's thread id, which replay must
 * do itself (glibc set the address with set_tid_address, which replay
 * emulates). */
#include <pthread.h>
#include <stdio.h>

static pthread_t main_thread;

static void *joiner(void *arg) {
    (void)arg;
    int r = pthread_join(main_thread, NULL);
    printf("joined main: %d\n", r);
    return NULL;
}

int main(void) {
    main_thread = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, joiner, NULL);
    pthread_exit(NULL);
}
