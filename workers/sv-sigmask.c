/* sv-sigmask - prints what we inherited, one per line: "blocked <hex>" (SigBlk
 * of /proc/self/status), "ignored <hex>" (SigIgn, same 16-digit hex) and
 * "pdeathsig <n>" (prctl PR_GET_PDEATHSIG, 0 if none); exits 0.
 * Errors: exit 1; any argument: exit 2. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

int main(int argc, char **argv) {
        char line[256], blocked[64] = "", ignored[64] = "";
        int pdeathsig = 0;
        FILE *f;

        (void) argv;
        if (argc != 1) {
                fprintf(stderr, "usage: sv-sigmask\n");
                return 2;
        }
        f = fopen("/proc/self/status", "re");
        if (!f) {
                perror("sv-sigmask: /proc/self/status");
                return 1;
        }
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "SigBlk:", 7) == 0)
                        (void) sscanf(line + 7, "%63s", blocked);
                else if (strncmp(line, "SigIgn:", 7) == 0)
                        (void) sscanf(line + 7, "%63s", ignored);
        }
        fclose(f);
        if (!*blocked || !*ignored || prctl(PR_GET_PDEATHSIG, &pdeathsig) < 0) {
                fprintf(stderr, "sv-sigmask: cannot read the signal state\n");
                return 1;
        }
        printf("blocked %s\nignored %s\npdeathsig %d\n", blocked, ignored, pdeathsig);
        return fflush(stdout) == 0 ? 0 : 1;
}
