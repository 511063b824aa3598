/* Parent and children exchange data through MAP_SHARED mappings of a
 * regular file (argv[1]) and of a memfd: mappings a fork inherits, new
 * mappings of the same file a child makes (by its name, by a symbolic
 * link to it, by a name given with link() as sem_open does, through
 * /proc/self/fd, from a descriptor sent over a socket), and a pwrite() by
 * a child that maps the file read-only, also after a hundred other files
 * were mapped and unmapped. Pipes say whose turn it is. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 4096

static int up[2], down[2]; /* child to parent, parent to child */

static void tell(int fd) {
    char c = 1;
    if (write(fd, &c, 1) != 1)
        _exit(3);
}

static void hear(int fd) {
    char c;
    if (read(fd, &c, 1) != 1)
        _exit(4);
}

static char *map(int fd, int prot) {
    char *mem = mmap(NULL, SIZE, prot, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        perror("mmap");
        _exit(5);
    }
    return mem;
}

/* Forks a child that runs `child` with `arg` and exits; the parent waits
 * for its message at `mem`, answers at mem + 64, and reaps it. */
static void exchange(const char *what, char *mem, void (*child)(const char *, const char *), const char *arg) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        child(what, arg);
        fflush(stdout);
        _exit(0);
    }
    hear(up[0]);
    printf("%s: parent read \"%s\"\n", what, mem);
    snprintf(mem + 64, 64, "pong for %s", what);
    fflush(stdout);
    tell(down[1]);
    waitpid(pid, NULL, 0);
    printf("%s: parent read \"%s\" after the child\n", what, mem + 128);
}

static char *inherited;

/* Writes through the mapping it inherited. */
static void through_inherited(const char *what, const char *unused) {
    (void)unused;
    snprintf(inherited, 64, "ping from the child (%s)", what);
    tell(up[1]);
    hear(down[0]);
    printf("%s: child read \"%s\"\n", what, inherited + 64);
    snprintf(inherited + 128, 64, "bye");
}

/* Maps the file named `path` anew and writes through that mapping. */
static void through_own_mapping(const char *what, const char *path) {
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        perror(path);
        _exit(6);
    }
    char *mem = map(fd, PROT_READ | PROT_WRITE);
    close(fd);
    snprintf(mem, 64, "ping through a mapping of its own (%s)", what);
    tell(up[1]);
    hear(down[0]);
    printf("%s: child read \"%s\"\n", what, mem + 64);
    snprintf(mem + 128, 64, "bye from its own mapping");
}

/* Maps the file read-only, writes it with pwrite, and reads the change
 * through the mapping. */
static void through_pwrite(const char *what, const char *path) {
    int fd = open(path, O_RDWR);
    char *mem = map(fd, PROT_READ);
    char msg[64];
    snprintf(msg, sizeof msg, "ping by pwrite (%s)", what);
    if (pwrite(fd, msg, strlen(msg) + 1, 0) < 0)
        _exit(7);
    printf("%s: child's read-only mapping shows \"%s\"\n", what, mem);
    tell(up[1]);
    hear(down[0]);
    printf("%s: child read \"%s\"\n", what, mem + 64);
    if (pwrite(fd, "bye by pwrite", 14, 128) < 0)
        _exit(7);
}

/* A child forked before the memfd exists receives it over a socket
 * (SCM_RIGHTS), maps it and writes there. */
static void sent_over_a_socket(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        _exit(8);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char byte;
        struct iovec iov = {&byte, 1};
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
        if (recvmsg(sv[1], &msg, 0) != 1)
            _exit(9);
        int fd;
        memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
        char *mem = map(fd, PROT_READ | PROT_WRITE);
        printf("sent: child read \"%s\"\n", mem);
        snprintf(mem, 64, "answer from the child");
        fflush(stdout);
        _exit(0);
    }
    int fd = memfd_create("sent", 0);
    if (fd < 0 || ftruncate(fd, SIZE))
        _exit(8);
    char *mem = map(fd, PROT_READ | PROT_WRITE);
    snprintf(mem, 64, "question from the parent");
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sv[0], &msg, 0) != 1)
        _exit(8);
    waitpid(pid, NULL, 0);
    printf("sent: parent read \"%s\"\n", mem);
}

int main(int argc, char **argv) {
    if (argc < 2 || pipe(up) || pipe(down))
        return 2;
    const char *path = argv[1];

    /* A regular file. */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, SIZE))
        return 2;
    inherited = map(fd, PROT_READ | PROT_WRITE);
    exchange("file, inherited", inherited, through_inherited, NULL);
    exchange("file, by name", inherited, through_own_mapping, path);
    /* The same file under another name: the child opens a symbolic link
     * to it. */
    char alias[4096];
    snprintf(alias, sizeof alias, "%s.alias", path);
    if (symlink(path, alias))
        return 2;
    exchange("file, by a symlink", inherited, through_own_mapping, alias);
    exchange("file, pwrite", inherited, through_pwrite, path);
    close(fd);

    /* A hundred other files mapped shared and unmapped (replay drops their
     * copies), then the first one mapped again by a child. */
    for (int i = 0; i < 100; i++) {
        char other[4096];
        snprintf(other, sizeof other, "%s.%d", path, i);
        int ofd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (ofd < 0 || ftruncate(ofd, SIZE))
            return 2;
        char *mem = map(ofd, PROT_READ | PROT_WRITE);
        snprintf(mem, 64, "file %d", i);
        munmap(mem, SIZE);
        close(ofd);
        unlink(other);
    }
    exchange("file, after 100 others", inherited, through_own_mapping, path);

    /* A file made under a temporary name, filled with write(), mapped,
     * then given its name with link() and the temporary name removed:
     * sem_open's way. A child opens it by the final name. */
    char tmp[4096], name[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(name, sizeof name, "%s.sem", path);
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
    char zeros[SIZE] = "initial contents";
    if (fd < 0 || write(fd, zeros, SIZE) != SIZE)
        return 2;
    char *linked = map(fd, PROT_READ | PROT_WRITE);
    if (link(tmp, name) || unlink(tmp))
        return 2;
    close(fd);
    printf("linked: \"%s\"\n", linked);
    exchange("linked", linked, through_own_mapping, name);
    unlink(name);

    /* A memfd: inherited, and mapped anew through /proc/self/fd. */
    fd = memfd_create("exchange", 0);
    if (fd < 0 || ftruncate(fd, SIZE))
        return 2;
    inherited = map(fd, PROT_READ | PROT_WRITE);
    exchange("memfd, inherited", inherited, through_inherited, NULL);
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    exchange("memfd, reopened", inherited, through_own_mapping, self);
    exchange("memfd, pwrite", inherited, through_pwrite, self);

    sent_over_a_socket();

    printf("EXIT-SUCCESS\n");
    return 0;
}
