/* The raw-loop baseline: the fastest a PC/SC client can exchange APDUs with a reader, with
 * nothing of cardharness in between. Plain C over libpcsclite: SCardEstablishContext,
 * SCardConnect (shared, T=0|T=1), then SCardTransmit of one APDU in a tight loop.
 *
 *   pcsc_loop [-r READER]... [-n COUNT] [-b BATCHES] [-w WARMUP] APDU_HEX
 *
 * READER is a substring of the PC/SC reader name (default: the first reader with a card); up to
 * 8 may be given. The loop runs BATCHES batches of COUNT transmits per reader; with several
 * readers the batches take turns (reader 1, reader 2, reader 1, ...), so that each meets the same
 * load on a shared machine. Then one line per reader on stdout:
 *   pcsc_loop: reader="<name>" apdus=<COUNT*BATCHES> median_us=<median per APDU of the batches>
 *              min_us=<best batch per APDU> sw=<last status word>
 * The benchmarks in bench/ run it against a lab reader and a vpcd reader of the same pcscd and
 * divide. Which pcscd it talks to is libpcsclite's choice: PCSCLITE_CSOCK_NAME.
 * Exit 0 ok, 1 a PC/SC call failed, 2 usage. */
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void) {
    fprintf(stderr,
            "usage: pcsc_loop [-r READER]... [-n COUNT] [-b BATCHES] [-w WARMUP] APDU_HEX\n");
    return 2;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses hex with optional spaces; returns the byte count or -1. */
static long parse_hex(const char* text, unsigned char* out, size_t capacity) {
    size_t n = 0;
    int high = -1;
    for (const char* p = text; *p; ++p) {
        if (*p == ' ' || *p == ':')
            continue;
        const int v = hex_value(*p);
        if (v < 0)
            return -1;
        if (high < 0) {
            high = v;
            continue;
        }
        if (n == capacity)
            return -1;
        out[n++] = (unsigned char)(high << 4 | v);
        high = -1;
    }
    return high < 0 ? (long)n : -1;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int compare_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static int fail(const char* call, LONG rv) {
    fprintf(stderr, "pcsc_loop: %s: %s (0x%08lX)\n", call, pcsc_stringify_error(rv),
            (unsigned long)rv);
    return 1;
}

/* One reader under test: its card handle and the per-APDU time of each batch. */
struct target {
    const char* wanted;
    const char* name;
    SCARDHANDLE card;
    const SCARD_IO_REQUEST* pci;
    double* per_apdu;
    unsigned sw;
};

static LONG transmit(struct target* t, const unsigned char* command, long command_length) {
    unsigned char response[65538];
    DWORD response_length = sizeof response;
    const LONG rv = SCardTransmit(t->card, t->pci, command, (DWORD)command_length, NULL, response,
                                  &response_length);
    if (rv == SCARD_S_SUCCESS && response_length >= 2)
        t->sw = (unsigned)response[response_length - 2] << 8 | response[response_length - 1];
    return rv;
}

int main(int argc, char** argv) {
    enum { max_targets = 8 };
    struct target targets[max_targets];
    int n_targets = 0;
    long count = 1000, batches = 5, warmup = 20;
    int i = 1;
    memset(targets, 0, sizeof targets);
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "-r") == 0) {
            if (n_targets == max_targets)
                return usage();
            targets[n_targets++].wanted = argv[i + 1];
        } else if (strcmp(argv[i], "-n") == 0) {
            count = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "-b") == 0) {
            batches = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "-w") == 0) {
            warmup = atol(argv[i + 1]);
        } else {
            return usage();
        }
    }
    if (i + 1 != argc || count < 1 || batches < 1 || batches > 1000 || warmup < 0)
        return usage();
    if (n_targets == 0)
        n_targets = 1; /* the first reader with a card */
    unsigned char command[65544];
    const long command_length = parse_hex(argv[i], command, sizeof command);
    if (command_length < 4) {
        fprintf(stderr, "pcsc_loop: APDU_HEX must be at least 4 bytes of hex\n");
        return 2;
    }

    SCARDCONTEXT context;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &context);
    if (rv != SCARD_S_SUCCESS)
        return fail("SCardEstablishContext", rv);
    DWORD readers_length = SCARD_AUTOALLOCATE;
    char* readers = NULL;
    rv = SCardListReaders(context, NULL, (LPSTR)&readers, &readers_length);
    if (rv != SCARD_S_SUCCESS)
        return fail("SCardListReaders", rv);

    for (int t = 0; t < n_targets; ++t) {
        struct target* target = &targets[t];
        for (const char* r = readers; *r && !target->name; r += strlen(r) + 1) {
            if (target->wanted && !strstr(r, target->wanted))
                continue;
            DWORD protocol = 0;
            rv = SCardConnect(context, r, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                              &target->card, &protocol);
            if (rv == SCARD_S_SUCCESS) {
                target->name = r;
                target->pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
            } else if (target->wanted) {
                return fail("SCardConnect", rv);
            }
        }
        if (!target->name) {
            fprintf(stderr, "pcsc_loop: no reader %s%s%swith a card\n",
                    target->wanted ? "matching \"" : "", target->wanted ? target->wanted : "",
                    target->wanted ? "\" " : "");
            return 1;
        }
        target->per_apdu = calloc((size_t)batches, sizeof(double));
        if (!target->per_apdu)
            return 1;
        for (long w = 0; w < warmup; ++w)
            if ((rv = transmit(target, command, command_length)) != SCARD_S_SUCCESS)
                return fail("SCardTransmit", rv);
    }
    /* With several readers the batches take turns: each reader meets the same machine load. */
    for (long b = 0; b < batches; ++b)
        for (int t = 0; t < n_targets; ++t) {
            const double start = now_us();
            for (long n = 0; n < count; ++n)
                if ((rv = transmit(&targets[t], command, command_length)) != SCARD_S_SUCCESS)
                    return fail("SCardTransmit", rv);
            targets[t].per_apdu[b] = (now_us() - start) / (double)count;
        }
    for (int t = 0; t < n_targets; ++t) {
        double* per_apdu = targets[t].per_apdu;
        qsort(per_apdu, (size_t)batches, sizeof(double), compare_double);
        const double median = batches % 2 ? per_apdu[batches / 2]
                                          : (per_apdu[batches / 2 - 1] + per_apdu[batches / 2]) / 2;
        printf("pcsc_loop: reader=\"%s\" apdus=%ld median_us=%.2f min_us=%.2f sw=%04X\n",
               targets[t].name, count * batches, median, per_apdu[0], targets[t].sw);
        free(per_apdu);
        SCardDisconnect(targets[t].card, SCARD_LEAVE_CARD);
    }
    SCardFreeMemory(context, readers);
    SCardReleaseContext(context);
    return 0;
}
