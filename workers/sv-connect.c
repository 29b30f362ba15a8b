/* sv-connect PORT - connects a TCP client to 127.0.0.1:PORT, prints
 * "ready <pid> <local-port>", then pauses until killed (keeping the socket).
 * Errors: exit 1; bad args: exit 2. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct sockaddr_in addr;
        socklen_t len = sizeof(addr);
        char *end;
        long port = -1;
        int fd;

        if (argc == 2) {
                errno = 0;
                port = strtol(argv[1], &end, 10);
                if (errno || end == argv[1] || *end)
                        port = -1;
        }
        if (argc != 2 || port < 1 || port > 65535) {
                fprintf(stderr, "usage: sv-connect PORT (1..65535)\n");
                return 2;
        }

        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
                perror("sv-connect: socket");
                return 1;
        }
        memset(&addr, 0, sizeof(addr));
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t) port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0
            || getsockname(fd, (struct sockaddr *) &addr, &len) < 0) {
                fprintf(stderr, "sv-connect: cannot connect to 127.0.0.1:%ld: %s\n", port,
                        strerror(errno));
                return 1;
        }

        printf("ready %d %d\n", (int) getpid(), (int) ntohs(addr.sin_port));
        fflush(stdout);
        for (;;)
                pause();
}
