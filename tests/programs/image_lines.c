// Checkpoint images: a program whose state lives in its heap (malloc'd
// buffers that grow with brk and mmap), its stack and its globals, and that
// prints a line per round, so a restart from the middle must print exactly
// the rounds that were left and end with the same status.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long total = 1;

int main(void) {
    char *name = malloc(64);
    strcpy(name, "round");
    char *blocks[20];
    for (int i = 0; i < 20; i++) {
        // Small blocks come from the brk heap, the last ones from mmap.
        size_t size = (size_t)4096 << (i / 2);
        blocks[i] = malloc(size);
        memset(blocks[i], 'a' + i, size);
        total = total * 31 + (unsigned char)blocks[i][size - 1] + (i > 0 ? blocks[i - 1][7] : 0);
        printf("%s %d: %lu\n", name, i, total);
        fflush(stdout);
    }
    for (int i = 0; i < 20; i++)
        free(blocks[i]);
    free(name);
    return 7;
}
