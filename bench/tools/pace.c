/*
 * pace: a fixed-rate (open-loop) HTTP/1.1 load generator, for latency at a given load rather than at
 * saturation. Debian has no wrk2; this does the part of it the benchmark needs.
 *
 *   pace -a 127.0.0.1:PORT -r RATE -d SECONDS [-c CONNECTIONS] [-H 'Name: value']... [-o] REQUESTS_FILE
 *
 * REQUESTS_FILE has one request a line: `TAG METHOD PATH [BODY]` (TAG names the class the request is
 * counted in, e.g. render or notify; BODY, if any, is the rest of the line, sent with Content-Type:
 * application/json). Requests are sent in file order, one every 1/RATE s, cycling through the file unless
 * -o (once) is given, in which case running out is counted as `exhausted`.
 *
 * Request k is *due* at start + k/RATE. It goes out on the first idle connection as soon as it is due; if
 * every connection is busy it waits, and its latency still counts from when it was due (the correction for
 * coordinated omission that wrk2 makes): a stalled server shows up as latency, not as a lower rate.
 *
 * Prints one JSON object per tag on stdout:
 *   {"tag":..,"sent":..,"done":..,"non2xx":..,"errors":..,"exhausted":..,"late":..,"rate":..,
 *    "p50_us":..,"p90_us":..,"p99_us":..,"p999_us":..,"max_us":..,"first_failure":".."}
 * `late` counts requests that went out more than 1 ms after they were due (the load tool or the server could
 * not keep up).  Build: cc -O2 -o pace pace.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_TAGS 16
#define MAX_HEADERS 16

typedef struct {
    char name[32];
    uint64_t sent, done, non2xx, errors, exhausted, late;
    uint32_t *latencies; /* microseconds, one per completed request */
    size_t count, capacity;
    char first_failure[160];
} Tag;

typedef struct {
    int tag;
    char *bytes; /* the whole request, ready to write */
    size_t length;
} Request;

typedef struct {
    int fd;
    int busy;
    uint64_t due_ns; /* when the request in flight was due */
    int tag;
    const Request *request;
    size_t written;
    char *in;
    size_t in_length, in_capacity;
} Connection;

static Tag tags[MAX_TAGS];
static int tag_count;
static Request *requests;
static size_t request_count;
static struct sockaddr_in address;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int compare_latencies(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static int tag_index(const char *name) {
    for (int i = 0; i < tag_count; i++)
        if (strcmp(tags[i].name, name) == 0) return i;
    if (tag_count == MAX_TAGS) {
        fprintf(stderr, "pace: more than %d tags\n", MAX_TAGS);
        exit(2);
    }
    snprintf(tags[tag_count].name, sizeof tags[tag_count].name, "%s", name);
    return tag_count++;
}

static void record_failure(Tag *tag, const char *text, size_t length) {
    if (tag->first_failure[0]) return;
    size_t n = 0;
    for (size_t i = 0; i < length && n + 1 < sizeof tag->first_failure; i++) {
        char c = text[i];
        tag->first_failure[n++] = (c == '"' || c == '\\' || c < 32 || c > 126) ? ' ' : c;
    }
    tag->first_failure[n] = 0;
}

static void load_requests(const char *path, char headers[][256], int header_count, const char *host) {
    FILE *file = fopen(path, "r");
    if (!file) die(path);
    size_t capacity = 1024;
    requests = malloc(capacity * sizeof *requests);
    char *line = NULL;
    size_t line_capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &line_capacity, file)) > 0) {
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) line[--length] = 0;
        if (length == 0) continue;
        char *tag = strtok(line, " ");
        char *method = strtok(NULL, " ");
        char *target = strtok(NULL, " ");
        char *body = strtok(NULL, "");
        if (!tag || !method || !target) {
            fprintf(stderr, "pace: bad request line in %s\n", path);
            exit(2);
        }
        char extra[2048] = "";
        size_t used = 0;
        for (int i = 0; i < header_count; i++) used += snprintf(extra + used, sizeof extra - used, "%s\r\n", headers[i]);
        size_t body_length = body ? strlen(body) : 0;
        size_t size = strlen(method) + strlen(target) + strlen(host) + used + body_length + 200;
        char *bytes = malloc(size);
        int n;
        if (body)
            n = snprintf(bytes, size, "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                         method, target, host, extra, body_length, body);
        else
            n = snprintf(bytes, size, "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, target, host, extra);
        if (request_count == capacity) requests = realloc(requests, (capacity *= 2) * sizeof *requests);
        requests[request_count++] = (Request){.tag = tag_index(tag), .bytes = bytes, .length = (size_t)n};
    }
    free(line);
    fclose(file);
    if (request_count == 0) {
        fprintf(stderr, "pace: no requests in %s\n", path);
        exit(2);
    }
}

static int open_connection(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) die("connect");
    return fd;
}

static void watch(int epoll, Connection *c, uint32_t events) {
    struct epoll_event event = {.events = events, .data.ptr = c};
    if (epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &event) != 0 && epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &event) != 0) die("epoll_ctl");
}

static void reconnect(int epoll, Connection *c) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = open_connection();
    c->busy = 0;
    c->in_length = 0;
    watch(epoll, c, EPOLLIN);
}

static void add_latency(Tag *tag, uint64_t ns) {
    if (tag->count == tag->capacity) {
        tag->capacity = tag->capacity ? tag->capacity * 2 : 4096;
        tag->latencies = realloc(tag->latencies, tag->capacity * sizeof *tag->latencies);
    }
    uint64_t us = ns / 1000;
    tag->latencies[tag->count++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Length of a complete response at the start of c->in, 0 if incomplete; sets *status. */
static size_t complete_response(Connection *c, int *status) {
    char *in = c->in;
    size_t n = c->in_length;
    char *end = memmem(in, n, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = (size_t)(end - in) + 4;
    *status = n > 12 ? atoi(in + 9) : 0;
    long content_length = -1;
    int chunked = 0;
    for (char *p = memchr(in, '\n', head); p && p < in + head; p = memchr(p, '\n', (size_t)(in + head - p))) {
        p++;
        if (strncasecmp(p, "content-length:", 15) == 0) content_length = atol(p + 15);
        else if (strncasecmp(p, "transfer-encoding:", 18) == 0 && memmem(p, (size_t)(in + head - p) < 64 ? (size_t)(in + head - p) : 64, "chunked", 7)) chunked = 1;
    }
    if (!chunked) {
        if (content_length < 0) content_length = 0;
        return n >= head + (size_t)content_length ? head + (size_t)content_length : 0;
    }
    size_t at = head;
    for (;;) {
        char *line_end = memmem(in + at, n - at, "\r\n", 2);
        if (!line_end) return 0;
        size_t size = strtoul(in + at, NULL, 16);
        at = (size_t)(line_end - in) + 2;
        if (size == 0) {
            /* No trailers expected: the last chunk is followed by an empty line. */
            return n >= at + 2 ? at + 2 : 0;
        }
        if (n < at + size + 2) return 0;
        at += size + 2;
    }
}

int main(int argc, char **argv) {
    const char *target = "127.0.0.1:8080";
    double rate = 100, seconds = 10;
    int connection_count = 32, once = 0, header_count = 0;
    char headers[MAX_HEADERS][256];
    int option;
    while ((option = getopt(argc, argv, "a:r:d:c:H:o")) != -1) {
        switch (option) {
        case 'a': target = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'c': connection_count = atoi(optarg); break;
        case 'o': once = 1; break;
        case 'H':
            if (header_count < MAX_HEADERS) snprintf(headers[header_count++], sizeof headers[0], "%s", optarg);
            break;
        default:
            fprintf(stderr, "usage: %s -a HOST:PORT -r RATE -d SECONDS [-c CONNECTIONS] [-H HEADER]... [-o] REQUESTS_FILE\n", argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1 || rate <= 0 || seconds <= 0 || connection_count < 1) {
        fprintf(stderr, "usage: %s -a HOST:PORT -r RATE -d SECONDS [-c CONNECTIONS] [-H HEADER]... [-o] REQUESTS_FILE\n", argv[0]);
        return 2;
    }
    char host[64];
    snprintf(host, sizeof host, "%s", target);
    char *colon = strrchr(host, ':');
    if (!colon) {
        fprintf(stderr, "pace: -a must be HOST:PORT\n");
        return 2;
    }
    *colon = 0;
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "pace: %s is not an IPv4 address\n", host);
        return 2;
    }
    load_requests(argv[optind], headers, header_count, target);
    signal(SIGPIPE, SIG_IGN);

    int epoll = epoll_create1(EPOLL_CLOEXEC);
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epoll < 0 || timer < 0) die("epoll/timerfd");
    struct epoll_event timer_event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll, EPOLL_CTL_ADD, timer, &timer_event);
    Connection *connections = calloc((size_t)connection_count, sizeof *connections);
    for (int i = 0; i < connection_count; i++) {
        connections[i].fd = open_connection();
        connections[i].in_capacity = 16384;
        connections[i].in = malloc(connections[i].in_capacity);
        watch(epoll, &connections[i], EPOLLIN);
    }

    const uint64_t interval = (uint64_t)(1e9 / rate);
    const uint64_t total = (uint64_t)(rate * seconds);
    const uint64_t start = now_ns() + 50000000u; /* 50 ms for the connections to open */
    uint64_t next = 0;                           /* the next request to send (its due time: start + next * interval) */
    uint64_t outstanding = 0;
    const uint64_t deadline = start + (uint64_t)(seconds * 1e9) + 10000000000u; /* 10 s for stragglers */
    struct epoll_event events[256];

    for (;;) {
        uint64_t now = now_ns();
        /* Send every request that is due, while there is an idle connection. */
        for (int i = 0; i < connection_count && next < total && start + next * interval <= now; i++) {
            Connection *c = &connections[i];
            if (c->busy) continue;
            size_t index = (size_t)next;
            if (index >= request_count && once) {
                /* Out of requests: the rest of the run is counted as exhausted, under the last request's tag. */
                tags[requests[request_count - 1].tag].exhausted += total - next;
                next = total;
                break;
            }
            const Request *request = &requests[index % request_count];
            c->busy = 1;
            c->due_ns = start + next * interval;
            c->tag = request->tag;
            c->request = request;
            c->written = 0;
            tags[request->tag].sent++;
            if (now - c->due_ns > 1000000u) tags[request->tag].late++;
            ssize_t n = write(c->fd, request->bytes, request->length);
            if (n > 0) c->written = (size_t)n;
            if (c->written < request->length) watch(epoll, c, EPOLLIN | EPOLLOUT);
            outstanding++;
            next++;
        }
        if (next >= total && outstanding == 0) break;
        if (now > deadline) break;
        /* Sleep until the next request is due, or until a connection has something. */
        int timeout = -1;
        if (next < total) {
            uint64_t due = start + next * interval;
            int idle = 0;
            for (int i = 0; i < connection_count && !idle; i++) idle = !connections[i].busy;
            if (idle) {
                if (due <= now) continue;
                struct itimerspec spec = {.it_value = {.tv_sec = (time_t)(due / 1000000000u), .tv_nsec = (long)(due % 1000000000u)}};
                timerfd_settime(timer, TFD_TIMER_ABSTIME, &spec, NULL);
            }
        } else {
            timeout = 1000;
        }
        int ready = epoll_wait(epoll, events, 256, timeout);
        if (ready < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int e = 0; e < ready; e++) {
            Connection *c = events[e].data.ptr;
            if (!c) {
                uint64_t expirations;
                if (read(timer, &expirations, sizeof expirations) < 0) { /* spurious: nothing to do */ }
                continue;
            }
            if (events[e].events & EPOLLOUT && c->busy && c->written < c->request->length) {
                ssize_t n = write(c->fd, c->request->bytes + c->written, c->request->length - c->written);
                if (n > 0) c->written += (size_t)n;
                if (c->written == c->request->length) watch(epoll, c, EPOLLIN);
            }
            if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            for (;;) {
                if (c->in_length == c->in_capacity) c->in = realloc(c->in, c->in_capacity *= 2);
                ssize_t n = read(c->fd, c->in + c->in_length, c->in_capacity - c->in_length);
                if (n > 0) {
                    c->in_length += (size_t)n;
                    continue;
                }
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
                /* Closed or failed: the request in flight (if any) is an error. */
                if (c->busy) {
                    tags[c->tag].errors++;
                    record_failure(&tags[c->tag], "connection closed before the response", 37);
                    outstanding--;
                }
                reconnect(epoll, c);
                goto next_event;
            }
            int status;
            size_t length;
            while (c->busy && (length = complete_response(c, &status)) > 0) {
                Tag *tag = &tags[c->tag];
                tag->done++;
                add_latency(tag, now_ns() - c->due_ns);
                if (status < 200 || status > 299) {
                    tag->non2xx++;
                    record_failure(tag, c->in, c->in_length < 300 ? c->in_length : 300);
                }
                memmove(c->in, c->in + length, c->in_length - length);
                c->in_length -= length;
                c->busy = 0;
                outstanding--;
            }
        next_event:;
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    for (int i = 0; i < tag_count; i++) {
        Tag *tag = &tags[i];
        uint32_t *l = tag->latencies;
        size_t n = tag->count;
        qsort(l, n, sizeof *l, compare_latencies);
#define PCT(p) (n ? l[(size_t)((p) / 100.0 * (double)(n - 1) + 0.5)] : 0)
        uint64_t unfinished = tag->sent - tag->done - tag->errors;
        printf("{\"tag\":\"%s\",\"sent\":%lu,\"done\":%lu,\"non2xx\":%lu,\"errors\":%lu,\"exhausted\":%lu,\"late\":%lu,"
               "\"unfinished\":%lu,\"rate\":%.1f,\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"p999_us\":%u,\"max_us\":%u,"
               "\"first_failure\":\"%s\"}\n",
               tag->name, tag->sent, tag->done, tag->non2xx, tag->errors, tag->exhausted, tag->late, unfinished,
               (double)tag->done / elapsed, PCT(50), PCT(90), PCT(99), PCT(99.9), n ? l[n - 1] : 0, tag->first_failure);
    }
    return 0;
}
