/* Exercises the calls rback's syscall buffer makes without a stop, in the
 * situations that are hard for it. Every line printed depends on the
 * results of those calls, so a replay that returned other results (or lost
 * track of which call is which) prints something else.
 *   mix FILE      clocks, ids, stats, reads (partial, at EOF, into a buffer
 *                 that fills many times over), pread, lseek, getrandom,
 *                 access, and a pipe read between them (not buffered)
 *   signal        SIGALRMs that arrive while the program does nothing but
 *                 buffered calls, whose handler makes one too
 *   threads       four threads that spin on buffered calls until the main
 *                 thread lets them go, so they are preempted among them
 *   fork          a parent and a child (fork, then posix_spawn of itself)
 *                 that both make buffered calls
 *   fds FILE      closes every descriptor but its own and dup2s over 0-2,
 *                 then reads and stats
 *   write FILE    writes FILE with write, pwrite and writev, reads it back,
 *                 writes to stdout directly (rback's output, whatever it
 *                 is), then maps FILE shared and writes it again: the
 *                 mapping must show the new bytes
 *   poll          spins on poll and epoll_wait with a zero timeout until a
 *                 child writes to the pipes they watch, and prints how many
 *                 times each looked and what it saw
 *   readv FILE    reads FILE with readv and preadv into three buffers of
 *                 odd sizes (partial at the end, 0 at EOF), then calls them
 *                 with a bad iovec array, a bad buffer after a good one, and
 *                 counts the kernel refuses
 *   mask          blocks and unblocks SIGALRM around buffered clock reads
 *                 while a timer fires, and prints what the handler and the
 *                 old masks saw
 *   memory        makes anonymous pages read-only and writable again and
 *                 drops them with MADV_DONTNEED (they read back as zeros),
 *                 and also makes a page executable and frees one with
 *                 MADV_FREE (both traced)
 *   questions     asks every signal's action (sigaction with no new one),
 *                 sets a handler and an ignored signal, raises the handled
 *                 one and asks again; then asks isatty of a pipe, a file, a
 *                 closed descriptor and both ends of a pseudo-terminal
 *   raw FILE      the same kinds of calls named to syscall(2) instead of
 *                 libc's functions (as Rust's standard library does for
 *                 some): reads, pread, lseek, stats, clocks, ids, random
 *                 bytes, access, a looking poll, mprotect, a file write,
 *                 and errors (a bad descriptor, a bad buffer) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int buffer_mapped(void) {
    /* The library maps its buffer at a fixed address. */
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (maps && fgets(line, sizeof line, maps))
        found |= strncmp(line, "6fffff000000-", 13) == 0;
    if (maps)
        fclose(maps);
    return found;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t mix_file(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror("open");
        exit(1);
    }
    struct stat st, st2;
    fstat(fd, &st);
    stat(path, &st2);
    uint64_t h = st.st_size ^ (st2.st_ino == st.st_ino);
    /* Reads of odd sizes: every one partial at the end, then 0 at EOF. */
    static unsigned char buf[70000];
    for (int round = 0; round < 40; round++) {
        lseek(fd, 0, SEEK_SET);
        ssize_t n;
        size_t want = 1 + round * 1733;
        while ((n = read(fd, buf, want)) > 0)
            for (ssize_t i = 0; i < n; i++)
                h = h * 131 + buf[i];
        h = h * 7 + (n == 0);
    }
    char c[16];
    h = h * 31 + pread(fd, c, sizeof c, 5) + c[0];
    h = h * 31 + lseek(fd, 0, SEEK_END);
    close(fd);
    return h;
}

static void mix(const char *path) {
    printf("buffer mapped: %s\n", buffer_mapped() ? "yes" : "no");
    uint64_t before = now_ns(), backwards = 0, prev = 0, ids = 0;
    for (int i = 0; i < 30000; i++) {
        uint64_t t = now_ns();
        backwards += t < prev;
        prev = t;
        ids += getpid() == getppid();
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    unsigned char r[32];
    ssize_t got = getrandom(r, sizeof r, 0);
    int fds[2];
    pipe(fds);
    write(fds[1], "through a pipe", 14);
    char p[32] = {0};
    ssize_t pn = read(fds[0], p, sizeof p);
    printf("clock: %s, backwards %llu, ids %llu\n", now_ns() > before ? "moved" : "stuck",
           (unsigned long long)backwards, (unsigned long long)ids);
    printf("file hash %016llx\n", (unsigned long long)mix_file(path));
    printf("time agrees: %d, random %zd bytes, first %u, pipe %zd \"%s\"\n",
           (long)tv.tv_sec - (long)t <= 1 && (long)t - (long)tv.tv_sec <= 1, got, r[0], pn, p);
    printf("access: %d %d %d %d, stat of nothing: %d\n", access(path, R_OK), access("/nonexistent", F_OK),
           faccessat(AT_FDCWD, path, R_OK, 0), faccessat(AT_FDCWD, path, R_OK, AT_EACCESS),
           stat("/nonexistent", &(struct stat){0}));
    /* A value that depends on every clock read: replay must hand back the
     * recorded ones, in order. */
    uint64_t sum = 0;
    for (int i = 0; i < 5000; i++)
        sum += now_ns() & 0xff;
    printf("clock sum %llu\n", (unsigned long long)sum);
}

static volatile sig_atomic_t ticks;
static volatile uint64_t tick_clock;
static void on_alarm(int sig) {
    (void)sig;
    ticks++;
    /* A buffered call inside the handler, which may interrupt the
     * library's own call (at the traced call that empties a full buffer). */
    tick_clock += now_ns() & 0xff;
}

static void signals(void) {
    signal(SIGALRM, on_alarm);
    struct itimerval it = {{0, 3000}, {0, 3000}};
    setitimer(ITIMER_REAL, &it, NULL);
    uint64_t calls = 0, sum = 0;
    while (ticks < 20) {
        sum += now_ns() & 0xf;
        calls++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("20 ticks after %llu calls, sum %llu, clock in handlers %llu\n", (unsigned long long)calls,
           (unsigned long long)sum, (unsigned long long)tick_clock);
}

static volatile int go;
static void *spinner(void *arg) {
    uint64_t calls = 0, sum = 0;
    while (!go) {
        sum += now_ns() & 0x3;
        calls += 1 + (gettid() == 0);
    }
    printf("thread %ld: %llu calls, sum %llu\n", (long)(intptr_t)arg, (unsigned long long)calls,
           (unsigned long long)sum);
    return NULL;
}

static void threads(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, spinner, (void *)(intptr_t)i);
    uint64_t start = now_ns();
    while (now_ns() - start < 200 * 1000 * 1000ull)
        ;
    go = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("threads done\n");
}

static void forks(const char *self) {
    fflush(stdout);
    pid_t child = fork();
    uint64_t sum = 0;
    for (int i = 0; i < 20000; i++)
        sum += now_ns() & 0x7;
    if (child == 0) {
        printf("child: sum %llu, parent is %s\n", (unsigned long long)sum, getppid() > 1 ? "there" : "gone");
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("parent: sum %llu, child status %d\n", (unsigned long long)sum, WEXITSTATUS(status));
    char *argv[] = {(char *)self, "mix", (char *)self, NULL};
    pid_t spawned;
    fflush(stdout);
    posix_spawn(&spawned, self, NULL, NULL, argv, environ);
    waitpid(spawned, &status, 0);
    printf("spawned status %d\n", WEXITSTATUS(status));
}

static void fds(const char *path) {
    int keep = open(path, O_RDONLY);
    for (int fd = 0; fd < 1024; fd++)
        if (fd != keep)
            close(fd);
    int out = open("/dev/null", O_WRONLY);
    dup2(keep, 0);
    dup2(out, 2);
    char buf[100];
    ssize_t n = read(0, buf, sizeof buf);
    struct stat st;
    fstat(0, &st);
    uint64_t sum = 0;
    for (int i = 0; i < 3000; i++)
        sum += now_ns() & 1;
    /* stdout was closed: the result is the exit status. */
    exit(n == 100 && st.st_size > 100 && sum < 3000 ? 42 : 1);
}

static void writes(const char *path) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char line[64];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(line, sizeof line, "line %d %llu\n", i, (unsigned long long)(now_ns() & 7));
        write(fd, line, n);
    }
    pwrite(fd, "PWRITE", 6, 0);
    struct iovec iov[2] = {{"vec", 3}, {"tor\n", 4}};
    writev(fd, iov, 2);
    off_t size = lseek(fd, 0, SEEK_END);
    lseek(fd, 0, SEEK_SET);
    uint64_t h = 0;
    ssize_t n;
    while ((n = read(fd, line, sizeof line)) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = h * 131 + (unsigned char)line[i];
    for (int i = 0; i < 3; i++)
        write(1, "straight to stdout\n", 19);
    int copy = dup(1);
    write(copy, "through a copy of stdout\n", 25);
    char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    pwrite(fd, "MAPPED", 6, 0);
    printf("file of %lld bytes, hash %016llx, the mapping shows %.6s\n", (long long)size, (unsigned long long)h,
           map);
}

static void polls(void) {
    int seen[2], ready[2];
    if (pipe(seen) || pipe(ready))
        exit(1);
    pid_t child = fork();
    if (child == 0) {
        usleep(4000);
        write(seen[1], "p", 1);
        usleep(4000);
        write(ready[1], "e", 1);
        _exit(0);
    }
    struct pollfd pfd = {.fd = seen[0], .events = POLLIN};
    long looks = 0;
    while (poll(&pfd, 1, 0) == 0)
        looks++;
    printf("poll looked %s, revents %#x\n", looks > 0 ? "more than once" : "once", pfd.revents);
    int ep = epoll_create1(0);
    struct epoll_event want = {.events = EPOLLIN, .data.u64 = 0x1234};
    epoll_ctl(ep, EPOLL_CTL_ADD, ready[0], &want);
    struct epoll_event got[4];
    long waits = 0;
    int n;
    while ((n = epoll_wait(ep, got, 4, 0)) == 0)
        waits++;
    printf("epoll_wait looked %s, %d event %#x data %#llx\n", waits > 0 ? "more than once" : "once", n,
           got[0].events, (unsigned long long)got[0].data.u64);
    printf("looks: %ld %ld\n", looks, waits);
    waitpid(child, NULL, 0);
}

/* The buffers `readvs` reads into, for a debugger to look at. */
static char a[7], b[1000], c[4093];

/* readv and preadv of FILE, whose contents the hashes depend on. */
static void readvs(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror("open");
        exit(1);
    }
    uint64_t h = 0;
    long calls = 0, partial = 0;
    for (int round = 0; round < 20; round++) {
        lseek(fd, round * 17, SEEK_SET); /* before readv */
        struct iovec iov[3] = {{a, sizeof a}, {b, 1 + round * 47}, {c, sizeof c}};
        ssize_t n, want = sizeof a + 1 + round * 47 + sizeof c;
        while ((n = readv(fd, iov, 3)) > 0) {
            calls++; /* after readv */
            partial += n < want;
            for (ssize_t i = 0; i < n; i++) {
                char byte = i < (ssize_t)sizeof a ? a[i]
                            : i < (ssize_t)(sizeof a + iov[1].iov_len) ? b[i - sizeof a]
                                                                       : c[i - sizeof a - iov[1].iov_len];
                h = h * 131 + (unsigned char)byte;
            }
        }
        h = h * 7 + (n == 0);
    }
    struct iovec one[2] = {{c, 100}, {b, 3}};
    for (int off = 0; off < 4000; off += 13) {
        ssize_t n = preadv(fd, one, 2, off);
        h = h * 31 + n + (unsigned char)c[0] + (unsigned char)b[2];
    }
    /* The kernel refuses these; the library must not fault on them. */
    struct iovec *volatile nowhere = (struct iovec *)8;
    errno = 0;
    ssize_t bad_array = readv(fd, nowhere, 2);
    int bad_array_errno = errno;
    ssize_t bad_preadv = preadv(fd, nowhere, 1, 0);
    int bad_preadv_errno = errno;
    lseek(fd, 0, SEEK_SET);
    struct iovec half[2] = {{a, sizeof a}, {(void *)8, 100}};
    ssize_t bad_buffer = readv(fd, half, 2);
    volatile int many = 5000;
    ssize_t too_many = readv(fd, one, many);
    int too_many_errno = errno;
    ssize_t none = readv(fd, one, 0);
    close(fd);
    printf("readv: %ld calls, %ld partial, hash %016llx\n", calls, partial, (unsigned long long)h);
    printf("bad array %zd errno %d, bad preadv %zd errno %d, bad buffer %zd, too many %zd errno %d, none %zd\n",
           bad_array, bad_array_errno, bad_preadv, bad_preadv_errno, bad_buffer, too_many, too_many_errno, none);
}

static volatile sig_atomic_t alarms;
static volatile uint64_t alarm_clock;
static void on_masked_alarm(int sig) {
    (void)sig;
    alarms++;
    alarm_clock += now_ns() & 0xff;
}

/* Blocks SIGALRM around buffered calls while a timer fires: every tick
 * must come where the program unblocks it, in recording and replay. */
static void masks(void) {
    signal(SIGALRM, on_masked_alarm);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, NULL);
    sigset_t alrm, old;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    uint64_t sum = 0, was_blocked = 0, rounds = 0;
    while (alarms < 15) {
        sigprocmask(SIG_BLOCK, &alrm, &old);
        was_blocked += sigismember(&old, SIGALRM);
        for (int i = 0; i < 20; i++)
            sum += now_ns() & 0xf;
        pthread_sigmask(SIG_UNBLOCK, &alrm, &old);
        was_blocked += sigismember(&old, SIGALRM);
        rounds++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    /* glibc's own signals never get blocked, through either call. */
    sigset_t all, now;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pthread_sigmask(SIG_SETMASK, &old, &now);
    int bad = sigprocmask(99, &alrm, NULL);
    int bad_errno = errno;
    printf("mask: 15 alarms after %llu rounds, sum %llu, clock in handlers %llu, blocked before %llu\n",
           (unsigned long long)rounds, (unsigned long long)sum, (unsigned long long)alarm_clock,
           (unsigned long long)was_blocked);
    printf("set all: SIGALRM %d SIGTERM %d signal 32 %d signal 33 %d; bad how %d errno %d\n",
           sigismember(&now, SIGALRM), sigismember(&now, SIGTERM), sigismember(&now, 32), sigismember(&now, 33), bad,
           bad_errno);
}

/* The pages `memory` works on, for a debugger to look at. */
static unsigned char *volatile arena;

/* Protections and advice on anonymous pages: every page read back
 * depends on which calls replay made again. */
static void memory(void) {
    enum { PAGES = 16 };
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    arena = m;
    uint64_t h = 0;
    int fails = 0;
    for (int round = 0; round < 300; round++) {
        for (int p = 0; p < PAGES; p++)
            m[p * page + round % 97] = (unsigned char)(round + p + (now_ns() & 1));
        int p = round % PAGES;
        fails += mprotect(m + p * page, page, PROT_READ) != 0;
        h = h * 131 + m[p * page + round % 97];
        fails += mprotect(m + p * page, page, PROT_READ | PROT_WRITE) != 0;
        /* Drops the page: it reads back as zeros. */
        fails += madvise(m + ((p + 3) % PAGES) * page, page, MADV_DONTNEED) != 0; /* drop here */
        fails += madvise(m, PAGES * page, round % 2 ? MADV_WILLNEED : MADV_NORMAL) != 0; /* dropped */
        for (int q = 0; q < PAGES; q++)
            h = h * 131 + m[q * page + round % 97];
    }
    /* Traced: code that becomes executable, and MADV_FREE. */
    fails += mprotect(m, page, PROT_READ | PROT_EXEC) != 0;
    fails += mprotect(m, page, PROT_READ | PROT_WRITE) != 0;
    fails += madvise(m + page, page, MADV_FREE) != 0;
    int bad = mprotect((void *)1, page, PROT_READ);
    int bad_errno = errno;
    printf("memory: hash %016llx, fails %d, unaligned %d errno %d\n", (unsigned long long)h, fails, bad, bad_errno);
}

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig) {
    usr1_seen = sig;
}

/* What sigaction said of `sig`, with what the caller's struct held
 * before (0xa5 bytes) where glibc writes nothing: the padding after
 * sa_flags. */
static void describe_action(int sig) {
    struct sigaction old;
    memset(&old, 0xa5, sizeof old);
    errno = 0;
    int r = sigaction(sig, NULL, &old);
    if (r != 0) {
        printf(" %d:-1/%d", sig, errno);
        return;
    }
    unsigned char padding = ((unsigned char *)&old)[offsetof(struct sigaction, sa_flags) + sizeof old.sa_flags];
    const char *handler = old.sa_handler == SIG_DFL   ? "dfl"
                          : old.sa_handler == SIG_IGN ? "ign"
                          : old.sa_handler == on_usr1 ? "on_usr1"
                                                      : "other";
    printf(" %d:%s/%#x/%s/%d/%d/%#x", sig, handler, (unsigned)old.sa_flags, old.sa_restorer ? "restorer" : "none",
           sigismember(&old.sa_mask, SIGUSR2), sigismember(&old.sa_mask, SIGTERM), padding);
}

/* Questions about signal actions and terminals, which the library
 * buffers, between the calls that change actions, which it does not. */
static void questions(void) {
    int asked = 0;
    printf("before:");
    for (int sig = 0; sig <= 65; sig++, asked++)
        describe_action(sig);
    struct sigaction act = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, SIGUSR2);
    struct sigaction was;
    int set = sigaction(SIGUSR1, &act, &was);
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    int ignored = sigaction(SIGINT, &ignore, NULL);
    errno = 0;
    int own = sigaction(32, &act, NULL);
    int own_errno = errno;
    raise(SIGUSR1);
    printf("\nset %d (was %s) ignored %d own -1? %d errno %d, seen %d\nafter:", set,
           was.sa_handler == SIG_DFL ? "dfl" : "other", ignored, own, own_errno, (int)usr1_seen);
    for (int sig = 1; sig <= 64; sig++, asked++)
        describe_action(sig);
    /* A null answer is no question: glibc takes it (and says 0). */
    printf("\nno answer %d\n", sigaction(SIGUSR1, NULL, NULL));
    struct sigaction usr1_now;
    memset(&usr1_now, 0, sizeof usr1_now);
    sigaction(SIGUSR1, NULL, &usr1_now);
    int p[2];
    if (pipe(p) != 0) {
        perror("pipe");
        exit(1);
    }
    /* A regular file with no name (nothing written outside the test). */
    int file = memfd_create("questions", 0);
    int tty[2] = {-1, -1};
    tty[0] = posix_openpt(O_RDWR | O_NOCTTY);
    if (tty[0] >= 0 && grantpt(tty[0]) == 0 && unlockpt(tty[0]) == 0)
        tty[1] = open(ptsname(tty[0]), O_RDWR | O_NOCTTY);
    int closed = dup(file);
    close(closed);
    int fds[] = {p[0], p[1], file, closed, tty[0], tty[1]};
    const char *names[] = {"pipe", "pipe", "file", "closed", "pty master", "pty"};
    int answers[6], errnos[6];
    for (int i = 0; i < 6; i++) {
        errno = 0;
        answers[i] = isatty(fds[i]);
        errnos[i] = errno;
    }
    printf("isatty:");
    for (int i = 0; i < 6; i++)
        printf(" %s %d errno %d;", names[i], answers[i], errnos[i]);
    printf("\nSIGUSR1 flags %#x, asked %d\n", (unsigned)usr1_now.sa_flags, asked); /* answered */
}

static void raw(const char *path) {
    int fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    /* Reads of odd sizes to the end of the file, hashed as they come. */
    uint64_t hash = 1469598103934665603ull;
    long reads = 0, total = 0, r;
    char buf[4099];
    while ((r = syscall(SYS_read, fd, buf, sizeof buf - reads % 7)) > 0) {
        for (long i = 0; i < r; i++)
            hash = (hash ^ (unsigned char)buf[i]) * 1099511628211ull;
        reads++;
        total += r;
    }
    long at = syscall(SYS_lseek, fd, 1000, SEEK_SET);
    long pr = syscall(SYS_pread64, fd, buf, 16, 5);
    unsigned first = (unsigned char)buf[0];
    struct stat st, st2;
    long fs = syscall(SYS_fstat, fd, &st);
    long ns = syscall(SYS_newfstatat, AT_FDCWD, path, &st2, 0);
    long missing = syscall(SYS_newfstatat, AT_FDCWD, "/nonexistent/rback", &st2, 0);
    int missing_errno = errno;
    printf("raw: %ld reads, %ld bytes, hash %016llx, lseek %ld, pread %ld first %u\n", reads, total,
           (unsigned long long)hash, at, pr, first);
    printf("stats: %ld %ld size %lld same %d, missing %ld errno %d\n", fs, ns, (long long)st.st_size,
           st.st_ino == st2.st_ino, missing, missing_errno);
    /* A bad descriptor and a bad buffer fail as the kernel says. */
    long bad_fd = syscall(SYS_read, 999, buf, 1);
    int bad_fd_errno = errno;
    long bad_buf = syscall(SYS_pread64, fd, (void *)8, 16, 0);
    int bad_buf_errno = errno;
    printf("errors: %ld errno %d, %ld errno %d\n", bad_fd, bad_fd_errno, bad_buf, bad_buf_errno);
    long closed = syscall(SYS_close, fd);
    long again = syscall(SYS_close, fd);
    printf("close %ld, again %ld\n", closed, again);
    /* Ids agree with libc's, clocks move forward. */
    long ids = (syscall(SYS_getpid) != getpid()) + (syscall(SYS_getppid) != getppid()) +
               (syscall(SYS_gettid) != gettid());
    uint64_t prev = 0;
    long backwards = 0;
    for (int i = 0; i < 2000; i++) {
        struct timespec ts;
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
        uint64_t now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
        backwards += now < prev;
        prev = now;
    }
    struct timeval tv;
    long tod = syscall(SYS_gettimeofday, &tv, NULL);
    time_t t = 0;
    long secs = syscall(SYS_time, &t);
    printf("clocks: backwards %ld, ids %ld, gettimeofday %ld, time agrees %d\n", backwards, ids, tod,
           secs == t && (secs - tv.tv_sec) < 5);
    unsigned char rnd[32];
    memset(rnd, 0, sizeof rnd);
    long got = syscall(SYS_getrandom, rnd, sizeof rnd, 0);
    int zeros = 0;
    for (int i = 0; i < 32; i++)
        zeros += rnd[i] == 0;
    printf("random %ld bytes, not all zero %d\n", got, zeros < 32);
    long readable = syscall(SYS_access, path, R_OK);
    long absent = syscall(SYS_access, "/nonexistent/rback", F_OK);
    long at_readable = syscall(SYS_faccessat, AT_FDCWD, path, R_OK);
    printf("access %ld %ld, faccessat %ld\n", readable, absent, at_readable);
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    long empty = syscall(SYS_poll, &pfd, 1, 0);
    if (write(fds[1], "x", 1) != 1)
        exit(1);
    long ready = syscall(SYS_poll, &pfd, 1, 0);
    printf("poll %ld then %ld revents %#x\n", empty, ready, (unsigned)pfd.revents);
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[0] = 7;
    long ro = syscall(SYS_mprotect, page, 4096, PROT_READ);
    long rw = syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_WRITE);
    page[1] = page[0];
    printf("mprotect %ld %ld, page %d %d\n", ro, rw, page[0], page[1]);
    char out[64];
    snprintf(out, sizeof out, "%s.out", path);
    int w = syscall(SYS_openat, AT_FDCWD, out, O_RDWR | O_CREAT | O_TRUNC, 0600);
    long wrote = syscall(SYS_write, w, "written by syscall(2)\n", 22);
    long pw = syscall(SYS_pwrite64, w, "SYSCALL", 7, 11);
    long back = syscall(SYS_pread64, w, buf, 64, 0);
    syscall(SYS_close, w);
    printf("wrote %ld %ld, read back %ld: %.*s", wrote, pw, back, (int)back, buf);
}

/* What `open` becomes with _FORTIFY_SOURCE where the flags are not known
 * at compile time. */
extern int __open_2(const char *path, int flags);

/* What an open gave: the bytes read through it, or the errno. */
static void report_open(const char *what, int fd) {
    if (fd < 0) {
        printf("%s: -1 errno %d\n", what, errno);
        return;
    }
    char buf[32] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int cloexec = (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
    int access = fcntl(fd, F_GETFL) & O_ACCMODE;
    printf("%s: fd %d, read %zd \"%s\", cloexec %d, access %d\n", what, fd, n, n > 0 ? buf : "", cloexec,
           access);
    close(fd);
}

/* Opens of every kind in directory `dir`, which holds `data` (a text
 * file): reading opens of existing regular files are buffered (by
 * `open`, `open64`, `openat`, the fortified `__open_2`, `syscall(2)`,
 * through a symbolic link, and those that find no file); the others
 * stop. */
static void opens(const char *dir) {
    char data[512], link[512], fifo[512], missing[512];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    if (symlink(data, link) != 0 || mkfifo(fifo, 0600) != 0)
        exit(1);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    report_open("open", open(data, O_RDONLY));
    report_open("openat", openat(dirfd, "data", O_RDONLY | O_CLOEXEC));
    report_open("link", open(link, O_RDONLY));
    report_open("missing", open(missing, O_RDONLY));
    report_open("raw", syscall(SYS_openat, AT_FDCWD, data, O_RDONLY));
    report_open("fortified", __open_2(data, O_RDONLY));
    report_open("fifo", open(fifo, O_RDONLY | O_NONBLOCK));
    report_open("proc", open("/proc/self/comm", O_RDONLY));
    report_open("null", open("/dev/null", O_RDONLY));
    report_open("rdwr", open(data, O_RDWR));
    report_open("append", open(data, O_WRONLY | O_APPEND));
    report_open("trunc", open(missing, O_RDONLY | O_CREAT | O_TRUNC, 0600));
    report_open("directory", open(dir, O_RDONLY));
    report_open("bad address", open((const char *)16, O_RDONLY));
    close(dirfd);
}

/* Called every 1000 rounds of `marks`, for a breakpoint. */
__attribute__((noinline)) void mark(long round) {
    __asm__ volatile("" : : "r"(round) : "memory");
}

/* 20,000 rounds of two buffered calls (a stretch of 40,000 events), with
 * a call of `mark` every 1000: a reverse-continue to its last call flies
 * over the stretches between. */
static void marks(void) {
    unsigned long long sum = 0;
    for (long i = 0; i < 20000; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sum += getppid() + (ts.tv_nsec & 1);
        if (i % 1000 == 0)
            mark(i);
    }
    printf("marks: %d\n", sum > 0);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "mix";
    if (!strcmp(mode, "mix") && argc > 2)
        mix(argv[2]);
    else if (!strcmp(mode, "signal"))
        signals();
    else if (!strcmp(mode, "threads"))
        threads();
    else if (!strcmp(mode, "fork"))
        forks(argv[0]);
    else if (!strcmp(mode, "fds") && argc > 2)
        fds(argv[2]);
    else if (!strcmp(mode, "write") && argc > 2)
        writes(argv[2]);
    else if (!strcmp(mode, "poll"))
        polls();
    else if (!strcmp(mode, "readv") && argc > 2)
        readvs(argv[2]);
    else if (!strcmp(mode, "mask"))
        masks();
    else if (!strcmp(mode, "memory"))
        memory();
    else if (!strcmp(mode, "questions"))
        questions();
    else if (!strcmp(mode, "raw") && argc > 2)
        raw(argv[2]);
    else if (!strcmp(mode, "open") && argc > 2)
        opens(argv[2]);
    else if (!strcmp(mode, "marks"))
        marks();
    else {
        fprintf(stderr, "usage: %s mix FILE | signal | threads | fork | fds FILE | write FILE | poll | readv FILE | mask | memory | questions | raw FILE | open DIR | marks\n", argv[0]);
        return 2;
    }
    return 0;
}
