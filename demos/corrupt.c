/* Find the corruption: a note written one struct field too far clobbers
 * the head of a linked list. Nothing goes wrong there; the program crashes
 * much later, in total(), when it follows the clobbered pointer.
 *
 * demos/corrupt.rback is the REPL script that finds the culprit: run to
 * the crash, watch the list head, reverse-continue onto the line that
 * wrote it. */
#include <stdio.h>
#include <string.h>

struct account {
    char owner[12];
    long balance;
    struct account *next;
};

struct bank {
    char note[16];
    struct account *head;
    int accounts;
};

static struct account pool[4];
struct bank bank;

static void open_account(const char *owner, long balance) {
    struct account *a = &pool[bank.accounts++];
    strncpy(a->owner, owner, sizeof a->owner - 1);
    a->balance = balance;
    a->next = bank.head;
    bank.head = a;
}

/* The bug: copies the whole text, however long, into the 16-byte note. */
static void set_note(const char *text) {
    size_t len = strlen(text);
    for (size_t i = 0; i <= len; i++)
        bank.note[i] = text[i];
}

static long total(void) {
    long sum = 0;
    for (struct account *a = bank.head; a; a = a->next)
        sum += a->balance;
    return sum;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    open_account("ada", 120);
    open_account("grace", 75);
    open_account("linus", 310);
    printf("opened %d accounts\n", bank.accounts);
    set_note("year-end audit: all good");
    printf("note: %.16s\n", bank.note);
    for (int day = 1; day <= 3; day++)
        printf("day %d: all is well\n", day);
    printf("total: %ld\n", total());
    return 0;
}
