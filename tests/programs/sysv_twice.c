/* One System V segment attached at two addresses at once, and attached
 * anew by a child that detached what it inherited: a write through any
 * attach shows through every other. Replay (`replay -a`) maps each
 * attach from the segment's one shared copy; it used to map each its own
 * memory, and the parent's reads diverged. */
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    char *a = shmat(id, NULL, 0);
    char *b = shmat(id, NULL, 0);
    if (id < 0 || a == (void *)-1 || b == (void *)-1)
        return 2;
    strcpy(a, "written through the first attach");
    printf("the second attach reads: %s\n", b);
    int up[2];
    if (pipe(up))
        return 2;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        shmdt(a);
        shmdt(b);
        char *c = shmat(id, NULL, 0);
        if (c == (void *)-1)
            _exit(3);
        strcpy(c + 100, "written by the child's own attach");
        if (write(up[1], "x", 1) != 1)
            _exit(4);
        _exit(0);
    }
    char x;
    if (read(up[0], &x, 1) != 1)
        return 2;
    printf("the parent reads: %s\n", a + 100);
    strcpy(b + 200, "written through the second attach");
    printf("the first attach reads: %s\n", a + 200);
    int status;
    waitpid(pid, &status, 0);
    shmdt(a);
    shmdt(b);
    shmctl(id, IPC_RMID, NULL);
    printf("child exited with %d\n", WEXITSTATUS(status));
    return 0;
}
