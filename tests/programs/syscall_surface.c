/* Syscalls real programs make that need care to replay: mmap of /dev/zero,
 * sendmmsg, read-only clock_adjtime and adjtimex, the program's own
 * seccomp filter (an error and a SIGSYS, which win over rback's tracing),
 * System V shared memory, writes through /proc/self/mem and to a file mapped
 * shared, and, last, execveat of a descriptor (what fexecve
 * does). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile int sigsys_nr = -1;
static volatile long patched = 1, patched_too = 2;

static void on_sigsys(int sig, siginfo_t *info, void *ctx) {
    (void)sig;
    (void)ctx;
    sigsys_nr = info->si_syscall;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);

    int zero = open("/dev/zero", O_RDWR);
    char *z = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    close(zero);
    z[100] = 'z';
    printf("/dev/zero: %d %c\n", z[0], z[100]);

    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct iovec iov[2] = {{"one", 3}, {"three", 5}};
    struct mmsghdr msgs[2];
    memset(msgs, 0, sizeof msgs);
    msgs[0].msg_hdr.msg_iov = &iov[0];
    msgs[0].msg_hdr.msg_iovlen = 1;
    msgs[1].msg_hdr.msg_iov = &iov[1];
    msgs[1].msg_hdr.msg_iovlen = 1;
    int sent = sendmmsg(sv[0], msgs, 2, 0);
    char got[16] = {0};
    ssize_t n = recv(sv[1], got, sizeof got, 0);
    printf("sendmmsg: %d sent, lengths %u %u, first \"%.*s\"\n", sent, msgs[0].msg_len, msgs[1].msg_len, (int)n, got);

    /* recvmmsg fills two messages' data and lengths. */
    char r1[8] = {0}, r2[8] = {0};
    struct iovec riov[2] = {{r1, sizeof r1 - 1}, {r2, sizeof r2 - 1}};
    struct mmsghdr rmsgs[2];
    memset(rmsgs, 0, sizeof rmsgs);
    rmsgs[0].msg_hdr.msg_iov = &riov[0];
    rmsgs[0].msg_hdr.msg_iovlen = 1;
    rmsgs[1].msg_hdr.msg_iov = &riov[1];
    rmsgs[1].msg_hdr.msg_iovlen = 1;
    send(sv[0], "four", 4, 0);
    send(sv[0], "five5", 5, 0);
    int got_msgs = recvmmsg(sv[1], rmsgs, 2, 0, NULL);
    printf("recvmmsg: %d: \"%s\" (%u), \"%s\" (%u)\n", got_msgs, r1, rmsgs[0].msg_len, r2, rmsgs[1].msg_len);

    /* capget with version 0 writes the version the kernel prefers. */
    struct __user_cap_header_struct caphdr = {0, 0};
    syscall(SYS_capget, &caphdr, NULL);
    printf("capget: version %s\n", caphdr.version ? "given" : "missing");

    /* A pseudo-terminal's number and line discipline (old-style ioctls). */
    int ptm = posix_openpt(O_RDWR | O_NOCTTY);
    unsigned int ptn = 12345;
    int disc = -1;
    ioctl(ptm, TIOCGPTN, &ptn);
    ioctl(ptm, TIOCGETD, &disc);
    printf("pty: number %s, discipline %d\n", ptn != 12345 ? "given" : "missing", disc);
    close(ptm);

    /* madvise fails on a locked page, having cleared the one before. */
    char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    two[0] = 'a';
    two[4096] = 'b';
    int locked = mlock(two + 4096, 4096);
    int advised = madvise(two, 8192, MADV_DONTNEED);
    printf("mlock %d, madvise %d, pages %d %c\n", locked, advised, two[0], two[4096]);

    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int state = (int)syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
    struct timex tx2;
    memset(&tx2, 0, sizeof tx2);
    int state2 = adjtimex(&tx2);
    printf("clock_adjtime: state %d, adjtimex: state %d, same tick %d\n", state, state2, tx.tick == tx2.tick);

    /* getppid fails with EPERM; getpriority raises SIGSYS. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpriority, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long installed = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
    long ppid = getppid();
    syscall(SYS_getpriority, 0, 0);
    printf("seccomp: installed %ld, getppid %ld, SIGSYS for syscall %d\n", installed, ppid, sigsys_nr);
    /* A second filter, through prctl: getsid fails with ENOENT. */
    struct sock_filter code2[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getsid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOENT),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog2 = {sizeof code2 / sizeof code2[0], code2};
    int installed2 = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog2, 0, 0);
    long sid = getsid(0);
    printf("prctl seccomp: installed %d, getsid %ld (%s)\n", installed2, sid, sid < 0 && errno == ENOENT ? "ENOENT" : "?");

    int shm = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
    char *seg = shmat(shm, NULL, 0);
    strcpy(seg + 5000, "in a segment");
    struct shmid_ds ds;
    shmctl(shm, IPC_STAT, &ds);
    printf("shm: %s, size %zu, attached %lu\n", seg + 5000, (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch);
    shmdt(seg);
    shmctl(shm, IPC_RMID, NULL);

    int mem = open("/proc/self/mem", O_RDWR);
    long v = 42, w = 7;
    pwrite(mem, &v, sizeof v, (off_t)(unsigned long)&patched);
    lseek(mem, (off_t)(unsigned long)&patched_too, SEEK_SET);
    write(mem, &w, sizeof w);
    close(mem);
    printf("/proc/self/mem: %ld %ld\n", patched, patched_too);

    int data = open("shared.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(data, 8192);
    char *view = mmap(NULL, 8192, PROT_READ, MAP_SHARED, data, 0);
    pwrite(data, "through pwrite", 15, 4100);
    lseek(data, 10, SEEK_SET);
    write(data, "through write", 14);
    printf("shared file: %s, %s\n", view + 4100, view + 10);
    close(data);
    unlink("shared.dat");

    int echo = open("/bin/echo", O_RDONLY);
    char *argv[] = {"echo", "execveat", "done", NULL};
    char *envp[] = {NULL};
    syscall(SYS_execveat, echo, "", argv, envp, AT_EMPTY_PATH);
    printf("execveat failed\n");
    return 1;
}
