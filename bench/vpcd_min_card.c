/* A minimal vpcd client: the fastest card a vsmartcard vpcd slot can have, as a baseline for
 * `cardharness emulate --vpcd` and for the lab's reader driver. It answers every APDU with 90 00
 * at once and every ATR request with a fixed T=1 ATR; it does nothing else.
 *
 *   vpcd_min_card PORT [HOST]         (HOST default 127.0.0.1; vpcd listens, we connect)
 *
 * vpcd sends a 2-byte big-endian length and then the payload (two writes); TCP_NODELAY on our
 * answers and TCP_QUICKACK after every receive keep the delayed ACK from stalling vpcd's second
 * write. Connects with retries for 60 s; exits 0 when vpcd closes the connection or on SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int receive_all(int fd, unsigned char* out, size_t length) {
    size_t got = 0;
    while (got < length) {
        const ssize_t n = recv(fd, out + got, length - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    return 0;
}

static int send_frame(int fd, const unsigned char* payload, size_t length) {
    unsigned char frame[2 + 64];
    frame[0] = (unsigned char)(length >> 8);
    frame[1] = (unsigned char)length;
    memcpy(frame + 2, payload, length);
    return send(fd, frame, 2 + length, MSG_NOSIGNAL) == (ssize_t)(2 + length) ? 0 : -1;
}

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: vpcd_min_card PORT [HOST]\n");
        return 2;
    }
    const int port = atoi(argv[1]);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    if (port <= 0 || port > 65535 ||
        inet_pton(AF_INET, argc > 2 ? argv[2] : "127.0.0.1", &address.sin_addr) != 1) {
        fprintf(stderr, "vpcd_min_card: bad address\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = -1;
    for (int attempt = 0; attempt < 6000; ++attempt) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr*)&address, sizeof address) == 0)
            break;
        if (fd >= 0)
            close(fd);
        fd = -1;
        const struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    if (fd < 0) {
        fprintf(stderr, "vpcd_min_card: vpcd at port %d did not accept within 60 s\n", port);
        return 3;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    static const unsigned char atr[] = {0x3B, 0x80, 0x80, 0x01, 0x01}; /* T=1, no historicals */
    static const unsigned char ok[] = {0x90, 0x00};
    unsigned char buffer[65536];
    for (;;) {
        unsigned char header[2];
        if (receive_all(fd, header, 2) != 0)
            break;
        const size_t length = (size_t)header[0] << 8 | header[1];
        if (length == 0)
            continue;
        if (receive_all(fd, buffer, length) != 0)
            break;
        int rc = 0;
        if (length == 1) {
            if (buffer[0] == 4) /* GET ATR; power on/off and reset expect no answer */
                rc = send_frame(fd, atr, sizeof atr);
        } else {
            rc = send_frame(fd, ok, sizeof ok);
        }
        if (rc != 0)
            break;
    }
    close(fd);
    return 0;
}
