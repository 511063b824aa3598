/* A System V segment attached read-only (SHM_RDONLY), in the process that
 * filled it and in a child. Replay maps a segment's recorded contents at
 * each attach: `replay -a` from the segment's shared copy (a shared
 * read-only mapping cannot be filled through /proc/PID/mem), the debugger
 * privately, filled writable and then made read-only. The child checks
 * that it may not write. */
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf refused;

static void on_segv(int sig) {
    (void)sig;
    siglongjmp(refused, 1);
}

int main(void) {
    int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    char *w = shmat(id, NULL, 0);
    strcpy(w + 4096, "filled before the read-only attach");
    char *r = shmat(id, NULL, SHM_RDONLY);
    printf("parent reads: %s\n", r + 4096);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *c = shmat(id, NULL, SHM_RDONLY);
        printf("child reads: %s\n", c + 4096);
        signal(SIGSEGV, on_segv);
        if (sigsetjmp(refused, 1) == 0) {
            c[0] = 'x';
            printf("child wrote into a read-only segment\n");
        } else {
            printf("child may not write into it\n");
        }
        return 0;
    }
    int status;
    waitpid(pid, &status, 0);
    shmdt(r);
    shmdt(w);
    shmctl(id, IPC_RMID, NULL);
    printf("child exited with %d\n", WEXITSTATUS(status));
    return 0;
}
