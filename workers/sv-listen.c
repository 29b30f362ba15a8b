/* sv-listen PORT [tcp|udp] - binds 127.0.0.1:PORT (0: ephemeral) with
 * SO_REUSEADDR, listens if tcp (the default), prints "ready <pid> <port>" with
 * the bound port, then pauses until killed. Errors: exit 1; bad args: exit 2. */
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
        int udp = 0, fd, one = 1;
        char *end;
        long port = -1;

        if (argc >= 2) {
                errno = 0;
                port = strtol(argv[1], &end, 10);
                if (errno || end == argv[1] || *end)
                        port = -1;
        }
        if (argc == 3 && strcmp(argv[2], "udp") == 0)
                udp = 1;
        else if (argc == 3 && strcmp(argv[2], "tcp") != 0)
                port = -1;
        if (argc < 2 || argc > 3 || port < 0 || port > 65535) {
                fprintf(stderr, "usage: sv-listen PORT [tcp|udp]\n");
                return 2;
        }

        fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
        if (fd < 0) {
                perror("sv-listen: socket");
                return 1;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        memset(&addr, 0, sizeof(addr));
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t) port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0
            || (!udp && listen(fd, 16) < 0)
            || getsockname(fd, (struct sockaddr *) &addr, &len) < 0) {
                fprintf(stderr, "sv-listen: cannot listen on 127.0.0.1:%ld: %s\n", port,
                        strerror(errno));
                return 1;
        }

        printf("ready %d %d\n", (int) getpid(), (int) ntohs(addr.sin_port));
        fflush(stdout);
        for (;;)
                pause();
}
