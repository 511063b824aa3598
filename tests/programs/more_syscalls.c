/* Syscall families real programs use and rback records: POSIX timers and
 * their signals, signalfd with sigqueue, POSIX and System V message
 * queues, System V semaphores, process_vm_readv on itself, kcmp, mincore.
 * Each prints what it observed, so a replay must reproduce it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

static volatile sig_atomic_t ticks;

static void on_tick(int sig) {
    (void)sig;
    ticks++;
}

int main(void) {
    /* A POSIX timer firing every 2 ms, three times. */
    signal(SIGUSR1, on_tick);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0)
        perror("timer_create");
    struct itimerspec its = {{0, 2000000}, {0, 2000000}};
    timer_settime(timer, 0, &its, NULL);
    while (ticks < 3) {
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    struct itimerspec left;
    timer_gettime(timer, &left);
    timer_delete(timer);
    printf("timer fired %d times, interval %ld ns\n", (int)ticks, left.it_interval.tv_nsec);

    /* signalfd, fed by sigqueue with a value. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, 0);
    union sigval value = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR2, value);
    struct signalfd_siginfo info;
    ssize_t n = read(sfd, &info, sizeof info);
    printf("signalfd read %zd bytes: signal %u, value %d\n", n, info.ssi_signo, info.ssi_int);
    close(sfd);

    /* A POSIX message queue. */
    char name[64];
    snprintf(name, sizeof name, "/rback-test-%d", getpid());
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 64};
    mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0600, &attr);
    mq_send(q, "through a POSIX queue", 22, 3);
    char got[64];
    unsigned prio = 0;
    ssize_t len = mq_receive(q, got, sizeof got, &prio);
    mq_getattr(q, &attr);
    printf("mq: %zd bytes, priority %u: %s (max %ld)\n", len, prio, got, attr.mq_maxmsg);
    mq_close(q);
    mq_unlink(name);

    /* A System V message queue and semaphore. */
    int mid = msgget(IPC_PRIVATE, 0600);
    struct {
        long type;
        char text[32];
    } out = {7, "through a System V queue"}, in;
    msgsnd(mid, &out, sizeof out.text, 0);
    ssize_t got_len = msgrcv(mid, &in, sizeof in.text, 0, 0);
    struct msqid_ds stat;
    msgctl(mid, IPC_STAT, &stat);
    msgctl(mid, IPC_RMID, NULL);
    printf("msg: type %ld, %zd bytes: %s (queue had %lu)\n", in.type, got_len, in.text, (unsigned long)stat.msg_qnum);
    int sid = semget(IPC_PRIVATE, 3, 0600);
    struct sembuf up = {0, 2, 0};
    semop(sid, &up, 1);
    int val = semctl(sid, 0, GETVAL);
    unsigned short all[3] = {9, 9, 9};
    semctl(sid, 0, GETALL, all);
    semctl(sid, 0, IPC_RMID);
    printf("sem: value %d, all %d %d %d\n", val, all[0], all[1], all[2]);

    /* Reading its own memory, comparing its own files, page residency. */
    char secret[] = "read through process_vm_readv";
    char copy[sizeof secret];
    struct iovec local = {copy, sizeof copy}, remote = {secret, sizeof secret};
    ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    printf("process_vm_readv %zd: %s\n", r, copy);
    long same = syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, 1, 1);
    printf("kcmp of stdout with itself: %ld\n", same);
    unsigned char resident[2];
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[0] = 1;
    mincore(page, 8192, resident);
    printf("mincore: %d %d\n", resident[0] & 1, resident[1] & 1);
    return 0;
}
