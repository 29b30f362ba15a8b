/* ports.c - platform.h's sv__ptab_port_* on Windows: which processes own a
 * socket on a port, from the IP helper's owner-pid tables
 * (GetExtendedTcpTable, GetExtendedUdpTable), IPv4 and IPv6. Owns the
 * sorted pid list in the sv__ptab. A listening TCP socket is one in
 * LISTEN; a UDP socket counts once it is bound (UDP has no listen state). */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "platform/platform.h"
#include "platform/win/wfind.h"

typedef struct pids {
        DWORD *v;
        size_t n, cap;
} pids;

static int pids_add(pids *s, DWORD pid) {
        DWORD *nv;

        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 16;
                nv = realloc(s->v, s->cap * sizeof(*nv));
                if (!nv)
                        return UV_ENOMEM;
                s->v = nv;
        }
        s->v[s->n++] = pid;
        return 0;
}

/* The tables hold ports in network byte order in the low 16 bits. */
static uint16_t port_of(DWORD v) {
        return (uint16_t) (((v & 0xff) << 8) | ((v >> 8) & 0xff));
}

/* Calls GetExtended{Tcp,Udp}Table until the buffer is big enough; the
 * table can grow between two calls. Returns a malloc'd table or NULL with
 * *err set (0 when the address family is not configured: no rows). */
static void *get_table(bool udp, ULONG family, int cls, int *err) {
        DWORD size = 0, r;
        void *buf = NULL, *nb;
        int tries;

        for (tries = 0; tries < 8; tries++) {
                r = udp ? GetExtendedUdpTable(buf, &size, FALSE, family, (UDP_TABLE_CLASS) cls, 0)
                        : GetExtendedTcpTable(buf, &size, FALSE, family, (TCP_TABLE_CLASS) cls, 0);
                if (r == NO_ERROR && buf)
                        return buf;
                if (r != ERROR_INSUFFICIENT_BUFFER && r != NO_ERROR) {
                        free(buf);
                        *err = r == ERROR_NOT_SUPPORTED || r == ERROR_INVALID_PARAMETER ? 0 : sv__win_err(r);
                        return NULL;
                }
                nb = realloc(buf, size + 4096);
                if (!nb) {
                        free(buf);
                        *err = UV_ENOMEM;
                        return NULL;
                }
                buf = nb;
                size += 4096;
        }
        free(buf);
        *err = UV_EAGAIN;
        return NULL;
}

static int tcp4(pids *s, uint16_t port, bool any) {
        MIB_TCPTABLE_OWNER_PID *t;
        DWORD i;
        int r = 0;

        t = get_table(false, AF_INET, any ? TCP_TABLE_OWNER_PID_ALL : TCP_TABLE_OWNER_PID_LISTENER, &r);
        for (i = 0; t && r == 0 && i < t->dwNumEntries; i++) {
                const MIB_TCPROW_OWNER_PID *row = &t->table[i];

                if (port_of(row->dwLocalPort) == port || (any && port_of(row->dwRemotePort) == port))
                        r = pids_add(s, row->dwOwningPid);
        }
        free(t);
        return r;
}

static int tcp6(pids *s, uint16_t port, bool any) {
        MIB_TCP6TABLE_OWNER_PID *t;
        DWORD i;
        int r = 0;

        t = get_table(false, AF_INET6, any ? TCP_TABLE_OWNER_PID_ALL : TCP_TABLE_OWNER_PID_LISTENER, &r);
        for (i = 0; t && r == 0 && i < t->dwNumEntries; i++) {
                const MIB_TCP6ROW_OWNER_PID *row = &t->table[i];

                if (port_of(row->dwLocalPort) == port || (any && port_of(row->dwRemotePort) == port))
                        r = pids_add(s, row->dwOwningPid);
        }
        free(t);
        return r;
}

/* UDP rows carry no remote end: bound to the port is all that is known. */
static int udp4(pids *s, uint16_t port) {
        MIB_UDPTABLE_OWNER_PID *t;
        DWORD i;
        int r = 0;

        t = get_table(true, AF_INET, UDP_TABLE_OWNER_PID, &r);
        for (i = 0; t && r == 0 && i < t->dwNumEntries; i++)
                if (port_of(t->table[i].dwLocalPort) == port)
                        r = pids_add(s, t->table[i].dwOwningPid);
        free(t);
        return r;
}

static int udp6(pids *s, uint16_t port) {
        MIB_UDP6TABLE_OWNER_PID *t;
        DWORD i;
        int r = 0;

        t = get_table(true, AF_INET6, UDP_TABLE_OWNER_PID, &r);
        for (i = 0; t && r == 0 && i < t->dwNumEntries; i++)
                if (port_of(t->table[i].dwLocalPort) == port)
                        r = pids_add(s, t->table[i].dwOwningPid);
        free(t);
        return r;
}

static int cmp_dword(const void *a, const void *b) {
        DWORD x = *(const DWORD *) a, y = *(const DWORD *) b;

        return (x > y) - (x < y);
}

int sv__ptab_port_load(sv__ptab *pt, uint16_t port, unsigned protos, bool any_socket) {
        pids s = { 0 };
        int r = 0;

        if (protos == 0)
                protos = SV_FIND_TCP | SV_FIND_UDP;
        if (protos & SV_FIND_TCP) {
                r = tcp4(&s, port, any_socket);
                if (r == 0)
                        r = tcp6(&s, port, any_socket);
        }
        if (r == 0 && (protos & SV_FIND_UDP)) {
                r = udp4(&s, port);
                if (r == 0)
                        r = udp6(&s, port);
        }
        if (r < 0) {
                free(s.v);
                return r;
        }
        if (s.n > 1)
                qsort(s.v, s.n, sizeof(*s.v), cmp_dword);
        free(pt->owners);
        pt->owners = s.v;
        pt->nowners = s.n;
        return 0;
}

int sv__ptab_port_owner(sv__ptab *pt, const sv_find_proc *p) {
        DWORD pid = (DWORD) p->pid;

        return pt->nowners && bsearch(&pid, pt->owners, pt->nowners, sizeof(pid), cmp_dword) != NULL;
}
