/* Four children increment counters in MAP_SHARED|MAP_ANONYMOUS memory under
 * a process-shared pthread mutex (contended: futex waits between
 * processes), and a lock-free atomic counter beside it. One child makes
 * itself a session leader, another a process group leader. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
    pthread_mutex_t lock;
    long counter;
    long atomic;
    char order[64];
    int used;
};

#define CHILDREN 4
#define ROUNDS 2000

int main(void) {
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return 1;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->lock, &attr);
    pid_t pids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            if (i == 1 && setsid() != getpid())
                _exit(90);
            if (i == 2 && (setpgid(0, 0) != 0 || getpgid(0) != getpid()))
                _exit(91);
            for (int r = 0; r < ROUNDS; r++) {
                pthread_mutex_lock(&s->lock);
                long v = s->counter;
                if (r % 500 == 0 && s->used < 60)
                    s->order[s->used++] = 'a' + i;
                sched_yield();
                s->counter = v + 1;
                pthread_mutex_unlock(&s->lock);
                __atomic_fetch_add(&s->atomic, 2, __ATOMIC_SEQ_CST);
            }
            _exit(i);
        }
    }
    int bad = 0, status;
    for (int i = 0; i < CHILDREN; i++) {
        waitpid(pids[i], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != i)
            bad++;
    }
    printf("counter %ld, atomic %ld, bad children %d\n", s->counter, s->atomic, bad);
    printf("order %s\n", s->order);
    return 0;
}
