/* The ways a C program starts other programs: vfork + a failing execve
 * (the child _exits with 127), posix_spawn, system(), popen/pclose, and
 * execve of a shell script that starts with #!. argv[1] is the script. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    int status;

    pid_t v = vfork();
    if (v == 0) {
        execl("/nonexistent/program", "program", (char *)NULL);
        _exit(127);
    }
    waitpid(v, &status, 0);
    printf("vfork + failed exec: %d\n", WEXITSTATUS(status));

    pid_t s;
    char *args[] = {"sh", "-c", "echo spawned; exit 9", NULL};
    int err = posix_spawn(&s, "/bin/sh", NULL, NULL, args, environ);
    waitpid(s, &status, 0);
    printf("posix_spawn: %d, exit %d\n", err, WEXITSTATUS(status));

    status = system("echo from system; exit 3");
    printf("system: %d\n", WEXITSTATUS(status));

    FILE *f = popen("echo one; echo two; exit 6", "r");
    char line[64];
    while (fgets(line, sizeof line, f))
        printf("popen read: %s", line);
    status = pclose(f);
    printf("pclose: %d\n", WEXITSTATUS(status));

    f = popen("cat > /dev/null; exit 2", "w");
    fputs("to the child\n", f);
    printf("pclose of a writer: %d\n", WEXITSTATUS(pclose(f)));

    pid_t x = fork();
    if (x == 0) {
        char *sargs[] = {argv[1], "arg1", NULL};
        execve(argv[1], sargs, environ);
        _exit(126);
    }
    waitpid(x, &status, 0);
    printf("script: %d\n", WEXITSTATUS(status));
    return 0;
}
