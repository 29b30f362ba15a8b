/* sv-argv FILE [ARG]... - writes its arguments after FILE to FILE, each as
 * "<length>:<bytes>\n", as the C runtime split them from the command line:
 * what tests/win checks the quoting of a spawned argv against. Exit 0, or
 * 2 when FILE cannot be written. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
        FILE *f;
        int i;

        if (argc < 2)
                return 2;
        f = fopen(argv[1], "wb");
        if (!f)
                return 2;
        for (i = 2; i < argc; i++)
                fprintf(f, "%u:%s\n", (unsigned) strlen(argv[i]), argv[i]);
        return fclose(f) == 0 ? 0 : 2;
}
