/* Game of Life: a glider and a blinker on a 16x16 torus.
 *
 * The flagship playback demo: `rback playback --at step --show grid` draws
 * the grid each time step() is called, forward and then rewinding to the
 * first generation. Each generation also prints a line, so every step is
 * an event of the recording as well. */
#include <stdio.h>

#define N 16
#define GENERATIONS 24

unsigned char grid[N][N];
static unsigned char scratch[N][N];
int generation;

static int neighbours(int r, int c) {
    int n = 0;
    for (int dr = -1; dr <= 1; dr++)
        for (int dc = -1; dc <= 1; dc++)
            if (dr || dc) n += grid[(r + dr + N) % N][(c + dc + N) % N];
    return n;
}

/* One generation; returns how many cells are alive after it. */
static int step(void) {
    int alive = 0;
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) {
            int n = neighbours(r, c);
            scratch[r][c] = n == 3 || (n == 2 && grid[r][c]);
            alive += scratch[r][c];
        }
    for (int r = 0; r < N; r++)
        for (int c = 0; c < N; c++) grid[r][c] = scratch[r][c];
    generation++;
    return alive;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* A glider heading down and right, and a blinker in its way. */
    grid[0][1] = grid[1][2] = grid[2][0] = grid[2][1] = grid[2][2] = 1;
    grid[9][11] = grid[9][12] = grid[9][13] = 1;
    for (int i = 0; i < GENERATIONS; i++) {
        int alive = step();
        printf("generation %2d: %2d alive\n", generation, alive);
    }
    return 0;
}
