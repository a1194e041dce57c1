/* paralleldot._native: a compiled dot-product kernel and its own thread team.
 *
 * Built by the project (setup.py) when a C compiler and numpy's headers are
 * there; without it paralleldot runs its numpy kernels (see _kernels.py).
 *
 * What it does
 * ------------
 * dot(a, b, threads) computes numpy.dot(a, b) for two 1-D, contiguous,
 * aligned, native-order vectors of one dtype among int8..int64,
 * uint8..uint64, float32, float64, complex64 and complex128, on `threads`
 * threads (the caller and threads - 1 workers of a team that lives in this
 * module), the GIL released. Anything else returns None: the caller falls
 * back to numpy.
 *
 * fast(a, b, workers) is backend="auto"'s hot path (paralleldot._api): it
 * answers the calls whose choice is already known without running any
 * Python: below the floor the serial kernel, and a class whose recorded
 * choice (paralleldot._auto._states) is "serial", "inline" or "native" and
 * still has calls left. Everything else returns None.
 *
 * Results
 * -------
 * Integers are summed in the unsigned integer of their width: the products
 * and the sum wrap modulo 2**bits, the bits numpy.dot gives (it sums in a
 * wider integer and casts). Floats are summed in many independent lanes,
 * with fused multiply-adds where the CPU has them (-ffp-contract=fast:
 * one rounding where there were two; another order than numpy.dot's BLAS,
 * so they differ by rounding only).
 *
 * Each loop is compiled for x86-64-v4 (AVX-512), x86-64-v3 (AVX2, FMA) and
 * the baseline, and the CPU picks one at load time (GCC's target_clones).
 *
 * The team
 * --------
 * A call cuts the vectors into chunks (CHUNKS_PER_THREAD per thread) that the
 * caller and the woken workers take from one counter: a worker that is late
 * (asleep, or its core taken by another process) leaves its chunks to the
 * caller instead of making it wait. Partial sums are added in chunk order.
 * Workers wait for a generation counter: they spin for SPIN_NS after a job
 * (back-to-back calls do not pay a wake-up), then sleep on a condition
 * variable. One call uses the team at a time (a mutex taken with the GIL
 * released). A worker that wakes on the caller's CPU runs the job off it
 * (take_chunks_off_caller). After fork() the child has no workers: the team is rebuilt on
 * its first parallel call. stop() ends the workers (paralleldot.shutdown() calls
 * it): a team is drawn anew, threads and their places, like the pools.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>


/* GCC 11 on x86-64 knows the x86-64-v3 and -v4 levels (target_clones, the
 * x86-64-v3 int64 loop, isa()). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 11
#define X86_64_LEVELS 1
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RELAX() _mm_pause()
#else
#define RELAX() ((void)0)
#endif

typedef union {
    uint64_t u;
    double d[2];
    float f[2];
} acc_t;

typedef void (*kernel_t)(const char *x, const char *y, npy_intp n, acc_t *out);

/* --- the loops ---------------------------------------------------------- */

#define INT_KERNEL(NAME, T)                                                  \
    CLONES static void NAME(const char *xp, const char *yp, npy_intp n,       \
                            acc_t *out)                                       \
    {                                                                         \
        const T *x = (const T *)xp, *y = (const T *)yp;                       \
        T s = 0;                                                              \
        for (npy_intp i = 0; i < n; i++) s += (T)(x[i] * y[i]);               \
        out->u = (uint64_t)s;                                                 \
    }

INT_KERNEL(dot_u8, uint8_t)
INT_KERNEL(dot_u16, uint16_t)
INT_KERNEL(dot_u32, uint32_t)
INT_KERNEL(dot_u64, uint64_t)

/* 64-bit integers where the CPU has AVX2 and no 64-bit vector multiply
 * (x86-64-v3 without AVX-512; chosen at import, see u64_kind). With
 * x = xh 2**32 + xl, x * y = xl yl + 2**32 (xh yl + xl yh) modulo 2**64:
 * xl yl is one 32 x 32 -> 64-bit product (vpmuludq), and of the cross
 * terms only their sum's low 32 bits count, so they add up in 32-bit lanes
 * (x's halves times y's halves swapped, vpmulld) and go into the high half
 * once, at the end. 7 instructions per 4 elements where GCC's loop for
 * INT_KERNEL takes 11 (three vpmuludq, shifts); GCC 12 does not find this
 * form from C, hence the intrinsics. On `vm` (AMD EPYC, 2026-12-05), int64
 * at 1e7, blocks of calls in turn with the INT_KERNEL loop: 1 thread 22.8
 * and 23.1 GB/s against 21.3 and 21.8; 2 threads, over float64 numpy.dot's
 * rate, 0.928 / 0.925 / 0.935 against 0.933 / 0.884 / 0.911 (3 processes);
 * at 1e4 on one thread 47.9 GB/s against 45.7. */
#ifdef X86_64_LEVELS
__attribute__((target("avx2"))) static void
dot_u64_v3(const char *xp, const char *yp, npy_intp n, acc_t *out)
{
    const uint64_t *x = (const uint64_t *)xp, *y = (const uint64_t *)yp;
    __m256i low0 = _mm256_setzero_si256(), low1 = low0, cross0 = low0, cross1 = low0;
    npy_intp i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i xa = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i xb = _mm256_loadu_si256((const __m256i *)(x + i + 4));
        __m256i ya = _mm256_loadu_si256((const __m256i *)(y + i));
        __m256i yb = _mm256_loadu_si256((const __m256i *)(y + i + 4));
        low0 = _mm256_add_epi64(low0, _mm256_mul_epu32(xa, ya));
        low1 = _mm256_add_epi64(low1, _mm256_mul_epu32(xb, yb));
        /* 0xb1: the two 32-bit halves of each 64-bit lane swapped */
        cross0 = _mm256_add_epi32(cross0, _mm256_mullo_epi32(xa, _mm256_shuffle_epi32(ya, 0xb1)));
        cross1 = _mm256_add_epi32(cross1, _mm256_mullo_epi32(xb, _mm256_shuffle_epi32(yb, 0xb1)));
    }
    uint64_t s = 0, lows[4];
    uint32_t crosses[8], cross = 0;
    for (; i < n; i++) s += x[i] * y[i];
    _mm256_storeu_si256((__m256i *)lows, _mm256_add_epi64(low0, low1));
    _mm256_storeu_si256((__m256i *)crosses, _mm256_add_epi32(cross0, cross1));
    for (int j = 0; j < 4; j++) s += lows[j];
    for (int j = 0; j < 8; j++) cross += crosses[j];
    out->u = s + ((uint64_t)cross << 32);
}
#endif

/* Independent lanes: each lane is a sequential sum, so the compiler may
 * vectorise across lanes without reassociating anything. */
#define LANES_F64 32
#define LANES_F32 64

CLONES static void dot_f64(const char *xp, const char *yp, npy_intp n, acc_t *out)
{
    const double *x = (const double *)xp, *y = (const double *)yp;
    double acc[LANES_F64] = {0};
    npy_intp i = 0;
    for (; i + LANES_F64 <= n; i += LANES_F64)
        for (int j = 0; j < LANES_F64; j++) acc[j] += x[i + j] * y[i + j];
    double s = 0;
    for (; i < n; i++) s += x[i] * y[i];
    for (int w = LANES_F64 / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    out->d[0] = acc[0] + s;
}

CLONES static void dot_f32(const char *xp, const char *yp, npy_intp n, acc_t *out)
{
    const float *x = (const float *)xp, *y = (const float *)yp;
    float acc[LANES_F32] = {0};
    npy_intp i = 0;
    for (; i + LANES_F32 <= n; i += LANES_F32)
        for (int j = 0; j < LANES_F32; j++) acc[j] += x[i + j] * y[i + j];
    float s = 0;
    for (; i < n; i++) s += x[i] * y[i];
    for (int w = LANES_F32 / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) acc[j] += acc[j + w];
    out->f[0] = acc[0] + s;
}

/* Complex vectors as real ones of 2n elements, interleaved (re, im), in
 * vectors of 32 bytes (GCC's and clang's vector extensions). p sums x * y
 * (even lanes re*re, odd lanes im*im) and q sums x * y with each (re, im)
 * pair of y swapped (even lanes re*im, odd lanes im*re): one in-lane
 * shuffle, where indexing y[k ^ 1] made the compiler permute across lanes,
 * half the speed. The real part is the even lanes of p minus the odd ones,
 * the imaginary part every lane of q. Every lane is a sequential sum: no
 * reassociation.
 *
 * 32 bytes, not 64: on a CPU without AVX-512 (x86-64-v3 clone, AMD EPYC,
 * GCC 12) the 64-byte vectors' pair shuffle did not map to AVX2's in-lane
 * one, and the loop ran 6 to 8 times slower (complex128 at N = 1e4 on one
 * thread: 32 us, numpy.dot 6.3; complex64: 20 us, numpy.dot 3.1). At 32
 * bytes: 4.3 to 5.7 and 2.2 to 2.7 us (4 runs each, 2026-12-04). Four
 * vectors a turn instead of two were no faster. */
typedef double v4d __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
#if defined(__clang__)
#define SWAP_PAIRS_4(v) __builtin_shufflevector(v, v, 1, 0, 3, 2)
#define SWAP_PAIRS_8(v) __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6)
#else
#define SWAP_PAIRS_4(v) __builtin_shuffle(v, (v4l){1, 0, 3, 2})
#define SWAP_PAIRS_8(v) __builtin_shuffle(v, (v8i){1, 0, 3, 2, 5, 4, 7, 6})
#endif

#define COMPLEX_KERNEL(NAME, T, V, W, SWAP, FIELD)                            \
    CLONES static void NAME(const char *xp, const char *yp, npy_intp n,       \
                            acc_t *out)                                       \
    {                                                                         \
        const T *x = (const T *)xp, *y = (const T *)yp;                       \
        V p0 = {0}, p1 = {0}, q0 = {0}, q1 = {0}, xa, xb, ya, yb;             \
        npy_intp m = 2 * n, k = 0;                                            \
        for (; k + 2 * W <= m; k += 2 * W) {                                  \
            memcpy(&xa, x + k, sizeof xa);                                    \
            memcpy(&xb, x + k + W, sizeof xb);                                \
            memcpy(&ya, y + k, sizeof ya);                                    \
            memcpy(&yb, y + k + W, sizeof yb);                                \
            p0 += xa * ya;                                                    \
            p1 += xb * yb;                                                    \
            q0 += xa * SWAP(ya);                                              \
            q1 += xb * SWAP(yb);                                              \
        }                                                                     \
        T re = 0, im = 0;                                                     \
        for (; k < m; k += 2) {                                               \
            re += x[k] * y[k] - x[k + 1] * y[k + 1];                          \
            im += x[k] * y[k + 1] + x[k + 1] * y[k];                          \
        }                                                                     \
        V p = p0 + p1, q = q0 + q1;                                           \
        for (int j = 0; j < W; j += 2) {                                      \
            re += p[j] - p[j + 1];                                            \
            im += q[j] + q[j + 1];                                            \
        }                                                                     \
        out->FIELD[0] = re;                                                   \
        out->FIELD[1] = im;                                                   \
    }

COMPLEX_KERNEL(dot_c128, double, v4d, 4, SWAP_PAIRS_4, d)
COMPLEX_KERNEL(dot_c64, float, v8f, 8, SWAP_PAIRS_8, f)

/* How partial sums of a kernel add up. */
typedef enum { ADD_INT, ADD_F64, ADD_F32, ADD_C128, ADD_C64 } add_t;

typedef struct {
    kernel_t kernel;
    add_t add;
    int bits;
} kind_t;

/* 64-bit integers' kernel: dot_u64_v3 on x86-64-v3 CPUs (set at import). */
static kind_t u64_kind = {dot_u64, ADD_INT, 64};

/* The kernel of a dtype, or NULL. */
static const kind_t *
kind_of(PyArray_Descr *d, npy_intp size)
{
    static const kind_t u8 = {dot_u8, ADD_INT, 8}, u16 = {dot_u16, ADD_INT, 16},
                        u32 = {dot_u32, ADD_INT, 32},
                        f32 = {dot_f32, ADD_F32, 0}, f64 = {dot_f64, ADD_F64, 0},
                        c64 = {dot_c64, ADD_C64, 0}, c128 = {dot_c128, ADD_C128, 0};
    int num = d->type_num;
    if (PyTypeNum_ISSIGNED(num) || PyTypeNum_ISUNSIGNED(num)) {
        switch (size) {
        case 1: return &u8;
        case 2: return &u16;
        case 4: return &u32;
        case 8: return &u64_kind;
        }
        return NULL;
    }
    if (num == NPY_FLOAT) return &f32;
    if (num == NPY_DOUBLE) return &f64;
    if (num == NPY_CFLOAT) return &c64;
    if (num == NPY_CDOUBLE) return &c128;
    return NULL;
}

static void
add_into(add_t add, acc_t *total, const acc_t *part)
{
    switch (add) {
    case ADD_INT: total->u += part->u; break;
    case ADD_F64: total->d[0] += part->d[0]; break;
    case ADD_F32: total->f[0] += part->f[0]; break;
    case ADD_C128: total->d[0] += part->d[0]; total->d[1] += part->d[1]; break;
    case ADD_C64: total->f[0] += part->f[0]; total->f[1] += part->f[1]; break;
    }
}

/* --- the team ----------------------------------------------------------- */

#define MAX_THREADS 64
#define SPIN_NS 50000 /* a worker spins this long after a job, then sleeps */
/* Fewer bytes than this per thread: fewer threads. */
#define MIN_CHUNK_BYTES (1 << 15)
/* A job is cut into this many chunks per thread (fewer where a chunk would
 * fall under MIN_CHUNK_BYTES), taken by whichever thread comes first. */
#define CHUNKS_PER_THREAD 8
#define MAX_CHUNKS (MAX_THREADS * CHUNKS_PER_THREAD)

/* Data that one thread writes while another reads it sits alone on its
 * own LINE bytes (two cache lines: the adjacent-line prefetcher moves lines
 * in pairs). Packed together, as the compiler laid them out, the ticket,
 * the done count, the chunk sums and the mailboxes shared lines, and the
 * cost of the cores' traffic on them depended on where the module's
 * memory fell: two copies of the same build in one process, 2 threads,
 * float64 1e6, took 67 to 73 and 72 to 83 us a call, the slower one the
 * same in every run without address randomisation (docs/gate.md). */
#define LINE 128

/* One mailbox per worker: the caller bumps `gen` to wake it. */
typedef struct {
    _Alignas(LINE) atomic_uint gen;
    unsigned started; /* gen when the worker was started */
    int quit;         /* set by stop_team() before it bumps gen */
} slot_t;

/* A chunk's sum, written by the thread that computed it. */
typedef struct {
    _Alignas(LINE) acc_t sum;
} part_t;

/* What the caller and the workers of a job share, each part on its own
 * lines (the struct's size is a multiple of LINE: nothing else shares them).
 * - job: `chunks` chunks of `chunk` elements (the last one shorter). Its
 *   fields are written by the caller before it publishes `ticket`, and stay
 *   until every chunk is done.
 * - ticket: (job number << 32) | (chunks << 16) | next chunk: a thread
 *   takes chunk c by moving `next` from c to c + 1 (compare and swap).
 *   Everything a thread needs to decide is in the ticket, so a worker that
 *   wakes late, after its job was done, takes a chunk of the current job or
 *   nothing.
 * - done: chunks of the job computed. */
static struct {
    _Alignas(LINE) struct {
        kernel_t kernel;
        const char *x, *y;
        npy_intp n, chunk, itemsize;
    } job;
    _Alignas(LINE) _Atomic uint64_t ticket;
    _Alignas(LINE) atomic_int done;
    /* The CPU the caller ran on when it published the job (-1: unknown). */
    _Alignas(LINE) atomic_int caller_cpu;
} team;
static part_t parts[MAX_CHUNKS]; /* chunk c's sum, added in chunk order */
static slot_t slots[MAX_THREADS];
static atomic_int leaving;            /* stop_team(): workers still to leave */
static int team_size; /* workers started: slots 1 .. team_size (the caller is slot 0) */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;

static inline uint64_t
now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The ticket's next chunk and its job's chunk count. */
static inline unsigned ticket_next(uint64_t t) { return (unsigned)(t & 0xffff); }
static inline unsigned ticket_chunks(uint64_t t) { return (unsigned)((t >> 16) & 0xffff); }

/* Take and compute chunks of the current job until none is left. */
static void
take_chunks(void)
{
    uint64_t t = atomic_load_explicit(&team.ticket, memory_order_acquire);
    for (;;) {
        unsigned next = ticket_next(t);
        if (next >= ticket_chunks(t)) return;
        if (!atomic_compare_exchange_weak_explicit(&team.ticket, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue; /* t was reloaded */
        /* Chunk `next` is ours and not done: the job cannot end before it is. */
        npy_intp start = (npy_intp)next * team.job.chunk;
        npy_intp len = team.job.n - start < team.job.chunk ? team.job.n - start : team.job.chunk;
        acc_t part;
        memset(&part, 0, sizeof part);
        npy_intp at = start * team.job.itemsize;
        team.job.kernel(team.job.x + at, team.job.y + at, len, &part);
        parts[next].sum = part;
        atomic_fetch_add_explicit(&team.done, 1, memory_order_release);
        t = atomic_load_explicit(&team.ticket, memory_order_acquire);
    }
}

/* Run take_chunks() off the caller's CPU when the worker woke on it.
 *
 * A worker asleep between calls (past SPIN_NS) is woken where Linux finds
 * it cheaper, often on the caller's own CPU even with another CPU idle
 * (2026-12-04, 2 cores, float64 1e6: 29 of 40 calls after 150 ms of
 * sleep, 86 of 100 after 20 ms, 190 of 200 after 1 ms), and the two then
 * share that CPU for the whole job: 2 threads at 1 thread's speed. The
 * worker therefore leaves the caller's CPU for the job (its affinity
 * without that CPU) and takes back the affinity it had afterwards. Calls
 * 1 ms apart took 43 to 82 us instead of 79 to 112 at 1e5, 5.0 to 5.7 ms
 * instead of 5.4 to 6.2 at 1e7. A worker pinned to the caller's CPU
 * alone, or one that woke elsewhere, is left as it is. (It does not help
 * against a thread that spins on the other CPU, as OpenBLAS's does for
 * about 100 ms after a threaded numpy.dot: the worker wakes there, not on
 * the caller's CPU.) */
/* Workers can leave the caller's CPU where the affinity calls exist. */
#if defined(__linux__) && defined(CPU_ISSET)
#define OFF_CALLER 1
#else
#define OFF_CALLER 0
#endif
static atomic_long moves; /* jobs a worker took off the caller's CPU (moves()) */
/* Workers between deciding whether to move and having their affinity back.
 * The caller does not wait for them (a late worker never makes it wait);
 * settle() does: once it has returned, and until the next call, no worker
 * changes its affinity, so an affinity set then (the gate pins a build's
 * threads after warming it) is not overwritten by one put back late. */
static struct {
    _Alignas(LINE) atomic_int count; /* alone on its LINE bytes: every worker writes it every job */
} moving;

/* Chunks of the current job not taken yet? */
static int
chunks_left(void)
{
    uint64_t t = atomic_load(&team.ticket);
    return ticket_next(t) < ticket_chunks(t);
}

static void
take_chunks_off_caller(void)
{
#if OFF_CALLER
    /* Announced before looking at the job (sequentially consistent, as
     * settle() reads it): a worker that settle() did not see finds every
     * chunk taken and leaves its affinity alone. */
    atomic_fetch_add(&moving.count, 1);
    int caller = atomic_load_explicit(&team.caller_cpu, memory_order_relaxed);
    cpu_set_t saved, other;
    if (chunks_left() && caller >= 0 && caller < CPU_SETSIZE && sched_getcpu() == caller
        && sched_getaffinity(0, sizeof saved, &saved) == 0 && CPU_ISSET(caller, &saved)
        && CPU_COUNT(&saved) > 1) {
        other = saved;
        CPU_CLR(caller, &other);
        if (sched_setaffinity(0, sizeof other, &other) == 0) {
            atomic_fetch_add_explicit(&moves, 1, memory_order_relaxed);
            take_chunks();
            sched_setaffinity(0, sizeof saved, &saved);
            atomic_fetch_sub(&moving.count, 1);
            return;
        }
    }
    atomic_fetch_sub(&moving.count, 1);
#endif
    take_chunks();
}

static void *
worker(void *arg)
{
    slot_t *slot = &slots[(intptr_t)arg];
    unsigned seen = slot->started;
    for (;;) {
        unsigned g;
        uint64_t start = 0;
        int spins = 0;
        while ((g = atomic_load_explicit(&slot->gen, memory_order_acquire)) == seen) {
            if ((++spins & 63) == 0) {
                uint64_t t = now_ns();
                if (start == 0) start = t;
                else if (t - start > SPIN_NS) {
                    pthread_mutex_lock(&wake_lock);
                    while ((g = atomic_load(&slot->gen)) == seen)
                        pthread_cond_wait(&wake, &wake_lock);
                    pthread_mutex_unlock(&wake_lock);
                    break;
                }
            }
            RELAX();
        }
        seen = g;
        if (slot->quit) { /* stop_team(): leave */
            atomic_fetch_sub_explicit(&leaving, 1, memory_order_release);
            return NULL;
        }
        take_chunks_off_caller();
    }
    return NULL;
}

/* Start workers up to `wanted` (call_lock held); returns the team size. */
static int
grow_team(int wanted)
{
    while (team_size < wanted) {
        pthread_t t;
        pthread_attr_t attr;
        int id = team_size + 1;
        slots[id].quit = 0;
        slots[id].started = atomic_load(&slots[id].gen);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 1 << 17);
        int err = pthread_create(&t, &attr, worker, (void *)(intptr_t)id);
        pthread_attr_destroy(&attr);
        if (err) break;
        team_size++;
    }
    return team_size;
}

/* Ask every worker to leave and wait until they have (GIL released by the
 * caller). The next parallel call starts a new team. */
static void
stop_team(void)
{
    pthread_mutex_lock(&call_lock);
    int workers = team_size;
    if (workers > 0) {
        atomic_store(&leaving, workers);
        for (int i = 1; i <= workers; i++) {
            slots[i].quit = 1;
            atomic_fetch_add_explicit(&slots[i].gen, 1, memory_order_release);
        }
        pthread_mutex_lock(&wake_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&wake_lock);
        while (atomic_load_explicit(&leaving, memory_order_acquire) > 0) sched_yield();
        team_size = 0;
    }
    pthread_mutex_unlock(&call_lock);
}

static void
before_fork(void)
{
    pthread_mutex_lock(&call_lock);
}

static void
after_fork_parent(void)
{
    pthread_mutex_unlock(&call_lock);
}

static void
after_fork_child(void)
{
    /* The workers did not survive the fork: start over. */
    team_size = 0;
    atomic_store(&leaving, 0);
    atomic_store(&moving.count, 0);
    pthread_mutex_init(&wake_lock, NULL);
    pthread_cond_init(&wake, NULL);
    pthread_mutex_init(&call_lock, NULL);
}

/* Run the kernel over n elements on `threads` threads (GIL released by the
 * caller). The caller takes chunks too, so a worker that is late to wake
 * (asleep, or its core taken by another process) costs at most the chunks
 * it would have done, computed by the caller instead: never a wait. */
static void
run(const kind_t *kind, const char *x, const char *y, npy_intp n, npy_intp itemsize,
    int threads, acc_t *total)
{
    memset(total, 0, sizeof *total);
    npy_intp most = (n * itemsize * 2) / MIN_CHUNK_BYTES;
    if (threads > most) threads = most < 1 ? 1 : (int)most;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads <= 1) {
        kind->kernel(x, y, n, total);
        return;
    }
    pthread_mutex_lock(&call_lock);
    if (grow_team(threads - 1) + 1 < threads) threads = team_size + 1;
    /* Chunks: CHUNKS_PER_THREAD per thread, each MIN_CHUNK_BYTES at least,
     * cut at multiples of 64 elements. */
    npy_intp chunks = (n * itemsize * 2) / MIN_CHUNK_BYTES;
    if (chunks > (npy_intp)threads * CHUNKS_PER_THREAD) chunks = (npy_intp)threads * CHUNKS_PER_THREAD;
    if (chunks < threads) chunks = threads;
    npy_intp chunk = ((n + chunks - 1) / chunks + 63) & ~(npy_intp)63;
    chunks = (n + chunk - 1) / chunk;
    team.job.kernel = kind->kernel;
    team.job.x = x;
    team.job.y = y;
    team.job.n = n;
    team.job.chunk = chunk;
    team.job.itemsize = itemsize;
    atomic_store_explicit(&team.done, 0, memory_order_relaxed);
#if OFF_CALLER
    atomic_store_explicit(&team.caller_cpu, sched_getcpu(), memory_order_relaxed);
#endif
    uint64_t number = (atomic_load_explicit(&team.ticket, memory_order_relaxed) >> 32) + 1;
    atomic_store_explicit(&team.ticket, (number << 32) | ((uint64_t)chunks << 16), memory_order_release);
    for (int i = 1; i < threads; i++)
        atomic_fetch_add_explicit(&slots[i].gen, 1, memory_order_release);
    pthread_mutex_lock(&wake_lock);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&wake_lock);
    take_chunks();
    /* Only chunks that a worker has taken and not finished are left. Yield
     * often: the worker may have been woken on the caller's own core. */
    int spins = 0;
    while (atomic_load_explicit(&team.done, memory_order_acquire) < chunks) {
        if ((++spins & 63) == 0) sched_yield();
        else RELAX();
    }
    for (npy_intp c = 0; c < chunks; c++) add_into(kind->add, total, &parts[c].sum);
    pthread_mutex_unlock(&call_lock);
}

/* --- Python ------------------------------------------------------------- */

static PyObject *np_dot;      /* numpy.dot */
static PyObject *str_serial, *str_inline, *str_native;
static long default_threads = 1;
static Py_ssize_t floor_bytes = 1 << 16;
static Py_ssize_t gil_bytes = 1 << 15; /* below: the GIL is kept (releasing costs more) */

/* The kernel for a and b, or NULL: exact 1-D ndarrays of one supported
 * dtype, contiguous, aligned, native byte order, same length. */
static const kind_t *
usable(PyArrayObject *a, PyArrayObject *b)
{
    PyArray_Descr *da = PyArray_DESCR(a), *db = PyArray_DESCR(b);
    if (da->type_num != db->type_num && !PyArray_EquivTypes(da, db)) return NULL;
    if (PyArray_NDIM(a) != 1 || PyArray_NDIM(b) != 1) return NULL;
    if (PyArray_DIM(a, 0) != PyArray_DIM(b, 0)) return NULL;
    npy_intp size = PyArray_ITEMSIZE(a);
    if (size != PyArray_ITEMSIZE(b)) return NULL;
    if (PyArray_DIM(a, 0) > 1 && (PyArray_STRIDE(a, 0) != size || PyArray_STRIDE(b, 0) != size))
        return NULL;
    if (!PyArray_ISNBO(da->byteorder) || !PyArray_ISNBO(db->byteorder)) return NULL;
    if (!PyArray_ISALIGNED(a) || !PyArray_ISALIGNED(b)) return NULL;
    return kind_of(da, size);
}

static PyObject *
compute(const kind_t *kind, PyArrayObject *a, PyArrayObject *b, int threads)
{
    npy_intp n = PyArray_DIM(a, 0);
    npy_intp size = PyArray_ITEMSIZE(a);
    const char *x = PyArray_BYTES(a), *y = PyArray_BYTES(b);
    acc_t total;
    if (threads <= 1 && 2 * n * size < gil_bytes) {
        memset(&total, 0, sizeof total);
        if (n) kind->kernel(x, y, n, &total);
    }
    else {
        Py_BEGIN_ALLOW_THREADS
        run(kind, x, y, n, size, threads, &total);
        Py_END_ALLOW_THREADS
    }
    char value[16];
    switch (kind->add) {
    case ADD_INT:
        switch (kind->bits) {
        case 8: { uint8_t v = (uint8_t)total.u; memcpy(value, &v, 1); break; }
        case 16: { uint16_t v = (uint16_t)total.u; memcpy(value, &v, 2); break; }
        case 32: { uint32_t v = (uint32_t)total.u; memcpy(value, &v, 4); break; }
        default: memcpy(value, &total.u, 8);
        }
        break;
    case ADD_F64: case ADD_C128: memcpy(value, total.d, 16); break;
    default: memcpy(value, total.f, 8);
    }
    return PyArray_Scalar(value, PyArray_DESCR(a), NULL);
}

static int
as_threads(PyObject *workers, long *out)
{
    if (workers == Py_None) {
        *out = default_threads;
        return 1;
    }
    if (!PyLong_CheckExact(workers)) return 0;
    long k = PyLong_AsLong(workers);
    if (k < 1) {
        PyErr_Clear();
        return 0;
    }
    *out = k;
    return 1;
}

static PyObject *
native_supports(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "supports(a, b) takes 2 arguments");
        return NULL;
    }
    if (!PyArray_Check(args[0]) || !PyArray_Check(args[1])) Py_RETURN_FALSE;
    return PyBool_FromLong(usable((PyArrayObject *)args[0], (PyArrayObject *)args[1]) != NULL);
}

PyDoc_STRVAR(dot_doc,
"dot(a, b, threads)\n--\n\n"
"numpy.dot(a, b) on `threads` threads, or None when the vectors are not\n"
"1-D contiguous aligned native-order ndarrays of one supported dtype.");

static PyObject *
native_dot(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "dot(a, b, threads) takes 3 arguments");
        return NULL;
    }
    long k;
    if (!PyArray_Check(args[0]) || !PyArray_Check(args[1]) || !as_threads(args[2], &k))
        Py_RETURN_NONE;
    PyArrayObject *a = (PyArrayObject *)args[0], *b = (PyArrayObject *)args[1];
    const kind_t *kind = usable(a, b);
    if (kind == NULL) Py_RETURN_NONE;
    return compute(kind, a, b, k > MAX_THREADS ? MAX_THREADS : (int)k);
}

static int
bit_length(Py_ssize_t v)
{
    int bits = 0;
    while (v) {
        bits++;
        v >>= 1;
    }
    return bits;
}

PyDoc_STRVAR(fast_doc,
"fast(a, b, workers, states)\n--\n\n"
"backend='auto' without Python: the result, or None when _api must decide.");

static PyObject *
native_fast(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "fast(a, b, workers, states) takes 4 arguments");
        return NULL;
    }
    PyObject *oa = args[0], *ob = args[1], *states = args[3];
    long k;
    if (Py_TYPE(oa) != &PyArray_Type || Py_TYPE(ob) != &PyArray_Type || !as_threads(args[2], &k))
        Py_RETURN_NONE;
    PyArrayObject *a = (PyArrayObject *)oa, *b = (PyArrayObject *)ob;
    const kind_t *kind = usable(a, b);
    if (kind == NULL) Py_RETURN_NONE; /* _api checks and dispatches the others */
    Py_ssize_t nbytes = PyArray_NBYTES(a) + PyArray_NBYTES(b);
    if (nbytes < floor_bytes) return compute(kind, a, b, 1);
    if (!PyDict_CheckExact(states)) Py_RETURN_NONE;
    PyObject *key = Py_BuildValue("(iiil)", PyArray_DESCR(a)->type_num,
                                  PyArray_DESCR(b)->type_num, bit_length(nbytes), k);
    if (key == NULL) return NULL;
    PyObject *state = PyDict_GetItemWithError(states, key); /* borrowed */
    Py_DECREF(key);
    if (state == NULL) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    if (!PyList_CheckExact(state) || PyList_GET_SIZE(state) < 2) Py_RETURN_NONE;
    PyObject *choice = PyList_GET_ITEM(state, 0), *left = PyList_GET_ITEM(state, 1);
    if (!PyLong_CheckExact(left)) Py_RETURN_NONE;
    long calls = PyLong_AsLong(left);
    if (calls <= 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    int threads;
    if (choice == str_native) threads = k > MAX_THREADS ? MAX_THREADS : (int)k;
    else if (choice == str_inline) threads = 1;
    else if (choice == str_serial) threads = 0;
    else Py_RETURN_NONE; /* threads: _api runs the split */
    PyObject *less = PyLong_FromLong(calls - 1);
    if (less == NULL) return NULL;
    if (PyList_SetItem(state, 1, less) < 0) return NULL;
    if (threads == 0) return PyObject_Vectorcall(np_dot, args, 2, NULL); /* no tuple built */
    return compute(kind, a, b, threads);
}

PyDoc_STRVAR(configure_doc,
"configure(default_threads, floor_bytes, serial, inline, native)\n--\n\n"
"Set what workers=None means, auto's floor and the interned choice names.");

static PyObject *
native_configure(PyObject *self, PyObject *args)
{
    long threads;
    Py_ssize_t floor;
    PyObject *s, *i, *nat;
    if (!PyArg_ParseTuple(args, "lnUUU", &threads, &floor, &s, &i, &nat)) return NULL;
    default_threads = threads < 1 ? 1 : threads;
    floor_bytes = floor;
    Py_INCREF(s);
    Py_INCREF(i);
    Py_INCREF(nat);
    Py_XSETREF(str_serial, s);
    Py_XSETREF(str_inline, i);
    Py_XSETREF(str_native, nat);
    Py_RETURN_NONE;
}

static PyObject *
native_team_size(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(team_size);
}

static PyObject *
native_moves(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(atomic_load(&moves));
}

static PyObject *
native_settle(PyObject *self, PyObject *unused)
{
    Py_BEGIN_ALLOW_THREADS
    while (atomic_load(&moving.count) > 0) sched_yield();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *
native_stop(PyObject *self, PyObject *unused)
{
    Py_BEGIN_ALLOW_THREADS
    stop_team();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *
native_isa(PyObject *self, PyObject *unused)
{
#ifdef X86_64_LEVELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return PyUnicode_FromString("x86-64-v4");
    if (__builtin_cpu_supports("x86-64-v3")) return PyUnicode_FromString("x86-64-v3");
    return PyUnicode_FromString("x86-64");
#else
    return PyUnicode_FromString("generic");
#endif
}

static PyMethodDef methods[] = {
    {"dot", (PyCFunction)(void (*)(void))native_dot, METH_FASTCALL, dot_doc},
    {"supports", (PyCFunction)(void (*)(void))native_supports, METH_FASTCALL,
     "supports(a, b)\n--\n\nWhether dot(a, b, threads) computes a and b (not None)."},
    {"fast", (PyCFunction)(void (*)(void))native_fast, METH_FASTCALL, fast_doc},
    {"configure", native_configure, METH_VARARGS, configure_doc},
    {"team_size", native_team_size, METH_NOARGS, "Workers started in this process."},
    {"moves", native_moves, METH_NOARGS,
     "moves()\n--\n\nJobs a worker took off the caller's CPU, having woken on it (Linux)."},
    {"settle", native_settle, METH_NOARGS,
     "settle()\n--\n\nWait until every worker that left the caller's CPU has its affinity "
     "back: until the next call, no worker changes its affinity (set yours then)."},
    {"stop", native_stop, METH_NOARGS,
     "stop()\n--\n\nStop the team's workers; the next parallel call starts new ones."},
    {"isa", native_isa, METH_NOARGS, "The instruction set the loops run with."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native",
    "A compiled dot-product kernel and its thread team (see _native.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    import_array();
    PyObject *numpy = PyImport_ImportModule("numpy");
    if (numpy == NULL) return NULL;
    np_dot = PyObject_GetAttrString(numpy, "dot");
    Py_DECREF(numpy);
    if (np_dot == NULL) return NULL;
    str_serial = PyUnicode_InternFromString("serial");
    str_inline = PyUnicode_InternFromString("inline");
    str_native = PyUnicode_InternFromString("native");
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
#ifdef X86_64_LEVELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v3") && !__builtin_cpu_supports("x86-64-v4"))
        u64_kind.kernel = dot_u64_v3;
#endif
    return PyModule_Create(&module);
}
