/*
 * The HNS stand-in at the DLL boundary: the functions weft-hns.cs P/Invokes
 * from vmcompute.dll and computenetwork.dll, with their Windows signatures
 * (UTF-16 strings, GUID pointers, out-pointers, HRESULT returns), built as one
 * Linux shared library that the tests install under both DLL names. It holds
 * no HNS state: each call goes over the Unix socket named by
 * $WEFT_HNS_STANDIN_SOCKET to the test's HNS model (hns-model.ts) and back.
 *
 * What the caller gets is what Windows hands out: output and error-record
 * strings are CoTaskMem allocations (on Unix .NET's Marshal.FreeCoTaskMem is
 * free(), so they come from malloc), every out-pointer is cleared on entry,
 * and a NULL out-pointer is E_POINTER. When the model cannot be reached the
 * answer is RPC_S_SERVER_UNAVAILABLE, as when the HNS service is down.
 *
 * Wire format (little endian): a frame is u32 length + payload.
 *   request  u32 count, then count fields: u32 size (0xffffffff: NULL) + bytes.
 *            Field 0 the function name, 1 the process ID (both ASCII), then
 *            the arguments as UTF-16LE: strings as given, GUIDs and handles
 *            as text.
 *   response i32 HRESULT, u32 flags, u64 handle, then two fields as above
 *            (the output string and the error record, UTF-16LE).
 *            flags 1: the model wants this process killed now (an answer
 *            lost after HNS acted), 2: never return (a hung HNS call).
 * The first call of a process first sends "Hello" with /proc/self/cmdline
 * and /proc/self/environ, so the tests see how PowerShell was started.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef int32_t HRESULT;
typedef uint16_t WCHAR;
typedef struct {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;
typedef void *HANDLE;

#define EXPORT __attribute__((visibility("default")))
#define E_POINTER ((HRESULT)0x80004003)
#define E_OUTOFMEMORY ((HRESULT)0x8007000E)
#define RPC_S_SERVER_UNAVAILABLE ((HRESULT)0x800706BA)
#define NULL_FIELD 0xffffffffu

typedef struct {
    uint8_t *data;
    size_t len, cap;
} Buf;

static int put(Buf *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int putU32(Buf *b, uint32_t v) {
    uint8_t le[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24};
    return put(b, le, 4);
}

static int putField(Buf *b, const void *p, size_t n) {
    if (!p) return putU32(b, NULL_FIELD);
    return putU32(b, (uint32_t)n) || put(b, p, n);
}

static int putText(Buf *b, const char *s) { return putField(b, s, s ? strlen(s) : 0); }

static int putWide(Buf *b, const WCHAR *s) {
    size_t n = 0;
    if (s)
        while (s[n]) n++;
    return putField(b, s, n * 2);
}

/* An argument given as ASCII text (a GUID, a handle), sent as UTF-16LE like the strings. */
static int putAsciiWide(Buf *b, const char *s) {
    WCHAR w[48];
    size_t n = strlen(s);
    for (size_t i = 0; i < n && i < 48; i++) w[i] = (unsigned char)s[i];
    return putField(b, w, (n < 48 ? n : 48) * 2);
}

static int putGuid(Buf *b, const GUID *g) {
    char s[40];
    if (!g) return putField(b, NULL, 0);
    snprintf(s, sizeof s, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", g->Data1, g->Data2, g->Data3, g->Data4[0],
             g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
    return putAsciiWide(b, s);
}

static int putHandle(Buf *b, HANDLE h) {
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)(uintptr_t)h);
    return putAsciiWide(b, s);
}

static int putFile(Buf *b, const char *path) {
    Buf f = {0};
    FILE *fp = fopen(path, "rb");
    if (fp) {
        uint8_t chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) put(&f, chunk, n);
        fclose(fp);
    }
    int r = putField(b, f.data ? (void *)f.data : (void *)"", f.len);
    free(f.data);
    return r;
}

static int readAll(int fd, void *p, size_t n) {
    uint8_t *d = p;
    while (n) {
        ssize_t r = read(fd, d, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        d += r;
        n -= (size_t)r;
    }
    return 0;
}

static int writeAll(int fd, const void *p, size_t n) {
    const uint8_t *d = p;
    while (n) {
        ssize_t r = write(fd, d, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        d += r;
        n -= (size_t)r;
    }
    return 0;
}

static uint32_t getU32(const uint8_t *p) { return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24); }

/* A response string as the caller's own CoTaskMem allocation, NUL-terminated. */
static WCHAR *takeField(const uint8_t **p, const uint8_t *end, int *bad) {
    if (end - *p < 4) return (*bad = 1, NULL);
    uint32_t n = getU32(*p);
    *p += 4;
    if (n == NULL_FIELD) return NULL;
    if ((size_t)(end - *p) < n || n % 2) return (*bad = 1, NULL);
    WCHAR *s = malloc(n + 2);
    if (!s) return (*bad = 1, NULL);
    memcpy(s, *p, n);
    s[n / 2] = 0;
    *p += n;
    return s;
}

typedef struct {
    HRESULT hr;
    uint32_t flags;
    uint64_t handle;
    WCHAR *output;
    WCHAR *record;
} Answer;

/* Send one request (its fields already in `args`) and read the answer. */
static int exchange(const char *fn, const Buf *args, uint32_t argc, Answer *a) {
    const char *socketPath = getenv("WEFT_HNS_STANDIN_SOCKET");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (!socketPath || strlen(socketPath) >= sizeof addr.sun_path) return -1;
    strcpy(addr.sun_path, socketPath);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return close(fd), -1;

    Buf req = {0};
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    int bad = putU32(&req, 0) || putU32(&req, argc + 2) || putText(&req, fn) || putText(&req, pid) ||
              (args->len && put(&req, args->data, args->len));
    if (!bad) {
        uint32_t n = (uint32_t)req.len - 4;
        uint8_t le[4] = {n & 255, (n >> 8) & 255, (n >> 16) & 255, n >> 24};
        memcpy(req.data, le, 4);
        bad = writeAll(fd, req.data, req.len);
    }
    free(req.data);
    uint8_t head[4];
    uint8_t *body = NULL;
    if (!bad) bad = readAll(fd, head, 4);
    uint32_t size = bad ? 0 : getU32(head);
    if (!bad && (size < 16 || !(body = malloc(size)))) bad = 1;
    if (!bad) bad = readAll(fd, body, size);
    close(fd);
    if (!bad) {
        const uint8_t *p = body + 16, *end = body + size;
        a->hr = (HRESULT)getU32(body);
        a->flags = getU32(body + 4);
        a->handle = getU32(body + 8) | ((uint64_t)getU32(body + 12) << 32);
        a->output = takeField(&p, end, &bad);
        a->record = takeField(&p, end, &bad);
    }
    free(body);
    return bad ? -1 : 0;
}

static int helloSent;

static void hello(void) {
    if (helloSent) return;
    helloSent = 1;
    Buf args = {0};
    Answer a = {0};
    if (!putFile(&args, "/proc/self/cmdline") && !putFile(&args, "/proc/self/environ") && exchange("Hello", &args, 2, &a) == 0) {
        free(a.output);
        free(a.record);
    }
    free(args.data);
}

/* One native call: forward, then hand out what the model answered. */
static HRESULT call(const char *fn, Buf *args, uint32_t argc, WCHAR **output, WCHAR **record, HANDLE *handle) {
    hello();
    Answer a = {0};
    int failed = exchange(fn, args, argc, &a);
    free(args->data);
    if (failed) return RPC_S_SERVER_UNAVAILABLE;
    if (a.flags & 1) kill(getpid(), SIGKILL);
    if (a.flags & 2)
        for (;;) pause();
    if (output) *output = a.output;
    else free(a.output);
    if (record) *record = a.record;
    else free(a.record);
    if (handle) *handle = (HANDLE)(uintptr_t)a.handle;
    return a.hr;
}

#define CLEAR(p)                   \
    do {                           \
        if (!(p)) return E_POINTER; \
        *(p) = NULL;               \
    } while (0)

/* ---- vmcompute.dll ---- */

EXPORT HRESULT HNSCall(const WCHAR *method, const WCHAR *path, const WCHAR *request, WCHAR **response) {
    CLEAR(response);
    Buf b = {0};
    if (putWide(&b, method) || putWide(&b, path) || putWide(&b, request)) return free(b.data), E_OUTOFMEMORY;
    return call("HNSCall", &b, 3, response, NULL, NULL);
}

/* ---- computenetwork.dll ---- */

#define ENUMERATE(Kind)                                                               \
    EXPORT HRESULT HcnEnumerate##Kind##s(const WCHAR *query, WCHAR **ids, WCHAR **record) { \
        CLEAR(ids);                                                                   \
        CLEAR(record);                                                                \
        Buf b = {0};                                                                  \
        if (putWide(&b, query)) return free(b.data), E_OUTOFMEMORY;                   \
        return call("HcnEnumerate" #Kind "s", &b, 1, ids, record, NULL);              \
    }

#define OPEN(Kind)                                                                 \
    EXPORT HRESULT HcnOpen##Kind(const GUID *id, HANDLE *handle, WCHAR **record) { \
        CLEAR(handle);                                                             \
        CLEAR(record);                                                             \
        Buf b = {0};                                                               \
        if (putGuid(&b, id)) return free(b.data), E_OUTOFMEMORY;                   \
        return call("HcnOpen" #Kind, &b, 1, NULL, record, handle);                 \
    }

#define QUERY(Kind)                                                                                         \
    EXPORT HRESULT HcnQuery##Kind##Properties(HANDLE h, const WCHAR *query, WCHAR **properties, WCHAR **record) { \
        CLEAR(properties);                                                                                  \
        CLEAR(record);                                                                                      \
        Buf b = {0};                                                                                        \
        if (putHandle(&b, h) || putWide(&b, query)) return free(b.data), E_OUTOFMEMORY;                     \
        return call("HcnQuery" #Kind "Properties", &b, 2, properties, record, NULL);                        \
    }

#define CLOSE(Kind)                                           \
    EXPORT HRESULT HcnClose##Kind(HANDLE h) {                 \
        Buf b = {0};                                          \
        if (putHandle(&b, h)) return free(b.data), E_OUTOFMEMORY; \
        return call("HcnClose" #Kind, &b, 1, NULL, NULL, NULL); \
    }

ENUMERATE(Network)
ENUMERATE(Endpoint)
ENUMERATE(Namespace)
OPEN(Network)
OPEN(Endpoint)
OPEN(Namespace)
QUERY(Network)
QUERY(Endpoint)
QUERY(Namespace)
CLOSE(Network)
CLOSE(Endpoint)
CLOSE(Namespace)

EXPORT HRESULT HcnCreateEndpoint(HANDLE network, const GUID *id, const WCHAR *settings, HANDLE *endpoint, WCHAR **record) {
    CLEAR(endpoint);
    CLEAR(record);
    Buf b = {0};
    if (putHandle(&b, network) || putGuid(&b, id) || putWide(&b, settings)) return free(b.data), E_OUTOFMEMORY;
    return call("HcnCreateEndpoint", &b, 3, NULL, record, endpoint);
}

EXPORT HRESULT HcnDeleteEndpoint(const GUID *id, WCHAR **record) {
    CLEAR(record);
    Buf b = {0};
    if (putGuid(&b, id)) return free(b.data), E_OUTOFMEMORY;
    return call("HcnDeleteEndpoint", &b, 1, NULL, record, NULL);
}

EXPORT HRESULT HcnModifyNamespace(HANDLE ns, const WCHAR *settings, WCHAR **record) {
    CLEAR(record);
    Buf b = {0};
    if (putHandle(&b, ns) || putWide(&b, settings)) return free(b.data), E_OUTOFMEMORY;
    return call("HcnModifyNamespace", &b, 2, NULL, record, NULL);
}
