/* The raw-loop baseline: the fastest a PC/SC client can exchange APDUs with a reader, with
 * nothing of cardharness in between. Plain C over libpcsclite: SCardEstablishContext,
 * SCardConnect (shared, T=0|T=1), then SCardTransmit of one APDU in a tight loop.
 *
 *   pcsc_loop [-r READER] [-n COUNT] [-b BATCHES] [-w WARMUP] APDU_HEX
 *
 * READER is a substring of the PC/SC reader name (default: the first reader with a card).
 * The loop runs BATCHES batches of COUNT transmits; the last line of stdout is
 *   pcsc_loop: reader="<name>" apdus=<COUNT*BATCHES> median_us=<median per APDU of the batches>
 *              min_us=<best batch per APDU> sw=<last status word>
 * (one line). The benchmarks in bench/ run it against lab and vpcd readers of the same pcscd or
 * process tree and divide. Which pcscd it talks to is libpcsclite's choice: PCSCLITE_CSOCK_NAME.
 * Exit 0 ok, 1 a PC/SC call failed, 2 usage. */
#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void) {
    fprintf(stderr, "usage: pcsc_loop [-r READER] [-n COUNT] [-b BATCHES] [-w WARMUP] APDU_HEX\n");
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

int main(int argc, char** argv) {
    const char* wanted = NULL;
    long count = 1000, batches = 5, warmup = 20;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i += 2) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "-r") == 0)
            wanted = argv[i + 1];
        else if (strcmp(argv[i], "-n") == 0)
            count = atol(argv[i + 1]);
        else if (strcmp(argv[i], "-b") == 0)
            batches = atol(argv[i + 1]);
        else if (strcmp(argv[i], "-w") == 0)
            warmup = atol(argv[i + 1]);
        else
            return usage();
    }
    if (i + 1 != argc || count < 1 || batches < 1 || batches > 1000 || warmup < 0)
        return usage();
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

    SCARDHANDLE card = 0;
    DWORD protocol = 0;
    const char* chosen = NULL;
    for (const char* r = readers; *r; r += strlen(r) + 1) {
        if (wanted && !strstr(r, wanted))
            continue;
        rv = SCardConnect(context, r, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                          &card, &protocol);
        if (rv == SCARD_S_SUCCESS) {
            chosen = r;
            break;
        }
        if (wanted)
            return fail("SCardConnect", rv);
    }
    if (!chosen) {
        fprintf(stderr, "pcsc_loop: no reader %s%s%swith a card\n", wanted ? "matching \"" : "",
                wanted ? wanted : "", wanted ? "\" " : "");
        return 1;
    }
    const SCARD_IO_REQUEST* pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;

    unsigned char response[65538];
    DWORD response_length = 0;
    for (long w = 0; w < warmup; ++w) {
        response_length = sizeof response;
        rv = SCardTransmit(card, pci, command, (DWORD)command_length, NULL, response,
                           &response_length);
        if (rv != SCARD_S_SUCCESS)
            return fail("SCardTransmit", rv);
    }
    double* per_apdu = calloc((size_t)batches, sizeof(double));
    if (!per_apdu)
        return 1;
    for (long b = 0; b < batches; ++b) {
        const double start = now_us();
        for (long n = 0; n < count; ++n) {
            response_length = sizeof response;
            rv = SCardTransmit(card, pci, command, (DWORD)command_length, NULL, response,
                               &response_length);
            if (rv != SCARD_S_SUCCESS)
                return fail("SCardTransmit", rv);
        }
        per_apdu[b] = (now_us() - start) / (double)count;
    }
    qsort(per_apdu, (size_t)batches, sizeof(double), compare_double);
    const double median = batches % 2 ? per_apdu[batches / 2]
                                      : (per_apdu[batches / 2 - 1] + per_apdu[batches / 2]) / 2;
    unsigned sw = 0;
    if (response_length >= 2)
        sw = (unsigned)response[response_length - 2] << 8 | response[response_length - 1];
    printf("pcsc_loop: reader=\"%s\" apdus=%ld median_us=%.2f min_us=%.2f sw=%04X\n", chosen,
           count * batches, median, per_apdu[0], sw);
    free(per_apdu);
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    SCardFreeMemory(context, readers);
    SCardReleaseContext(context);
    return 0;
}
