// Per-pixel kernels for the motion detector. The scalar code is the reference; the SSE2 and
// AVX2 variants must give bit-identical results (the detector tests check this on random planes).
#include "vk_kernels.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VK_X86 1
#endif

vk_isa vk_best_isa(void) {
#if VK_X86
    if (__builtin_cpu_supports("avx2")) return VK_ISA_AVX2;
    if (__builtin_cpu_supports("sse2")) return VK_ISA_SSE2;
#endif
    return VK_ISA_SCALAR;
}

int vk_isa_supported(vk_isa isa) { return isa <= vk_best_isa(); }

static int log2_factor(int factor) { return factor == 8 ? 3 : factor == 4 ? 2 : factor == 2 ? 1 : 0; }

// MARK: - Scalar reference

/// Box average of output columns [first, last) of one output row.
static void downscale_row_scalar(const uint8_t *top, size_t src_stride, int factor, int first, int last,
                                 uint8_t *out) {
    int shift = 2 * log2_factor(factor);
    uint32_t half = (1u << shift) >> 1;
    for (int x = first; x < last; x++) {
        uint32_t sum = 0;
        for (int dy = 0; dy < factor; dy++) {
            const uint8_t *row = top + dy * src_stride + (size_t)x * factor;
            for (int dx = 0; dx < factor; dx++) sum += row[dx];
        }
        out[x] = (uint8_t)((sum + half) >> shift);
    }
}

/// The 3x3 range of `background` around (x, y); the border repeats.
static void range_at(const uint8_t *background, int width, int height, int x, int y, int *low, int *high) {
    int lo = 255, hi = 0;
    for (int ny = y > 0 ? y - 1 : 0; ny <= (y < height - 1 ? y + 1 : y); ny++) {
        for (int nx = x > 0 ? x - 1 : 0; nx <= (x < width - 1 ? x + 1 : x); nx++) {
            int v = background[(size_t)ny * width + nx];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    *low = lo;
    *high = hi;
}

static void add_counts(vk_sigma_delta_counts *total, vk_sigma_delta_counts more) {
    total->changed += more.changed;
    total->beyond_range += more.beyond_range;
}

/// One sigma-delta step over columns [x0, x1) of row y; returns its counts.
static vk_sigma_delta_counts sigma_delta_row_scalar(const uint8_t *frame, const uint8_t *background,
                                                     uint8_t *updated, uint8_t *variance, uint8_t *mask, int width,
                                                     int height, int y, int x0, int x1, vk_sigma_delta_params p) {
    vk_sigma_delta_counts counts = {0, 0};
    for (int x = x0; x < x1; x++) {
        size_t i = (size_t)y * width + x;
        int f = frame[i], b = background[i], v = variance[i];
        int d = f > b ? f - b : b - f;
        int threshold = v > p.min_threshold ? v : p.min_threshold;
        int outside = d;
        // The range only narrows the difference, so it matters only where the plain one is over.
        if (p.shake_tolerant && d > threshold) {
            int lo, hi;
            range_at(background, width, height, x, y, &lo, &hi);
            outside = f > hi ? f - hi : f < lo ? lo - f : 0;
        }
        int is_changed = d > threshold, is_beyond = outside > threshold;
        int is_motion = v > p.min_threshold ? is_beyond : is_changed;
        mask[i] = (uint8_t)((is_changed ? VK_CHANGED : 0) | (is_beyond ? VK_BEYOND_RANGE : 0) | (is_motion ? VK_MOTION : 0));
        counts.changed += (uint32_t)is_changed;
        counts.beyond_range += (uint32_t)is_beyond;
        updated[i] = (uint8_t)(b + (f > b) - (f < b));
        int target = d;
        for (int s = 0; s < p.noise_shift; s++) target = target * 2 > 255 ? 255 : target * 2;
        v = v + (target > v) - (target < v);
        v = v < p.min_variance ? p.min_variance : v > p.max_variance ? p.max_variance : v;
        variance[i] = (uint8_t)v;
    }
    return counts;
}

static uint64_t sum_scalar(const uint8_t *pixels, size_t count) {
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++) sum += pixels[i];
    return sum;
}

/// Moments of one block row segment [x0, x1) over rows [y0, y1), added to `m`.
static void moments_scalar(const uint8_t *frame, const uint8_t *background, int width, int x0, int x1, int y0,
                           int y1, vk_block_moments *m) {
    for (int y = y0; y < y1; y++) {
        for (int x = x0; x < x1; x++) {
            uint32_t f = frame[(size_t)y * width + x], b = background[(size_t)y * width + x];
            m->pixels += 1;
            m->sum_b += b;
            m->sum_f += f;
            m->sum_bb += b * b;
            m->sum_ff += f * f;
            m->sum_bf += b * f;
        }
    }
}

static void cell_counts_row_scalar(const uint8_t *mask, const uint8_t *allowed, uint8_t select, int width,
                                   int first_cell, int cells, uint8_t *counts) {
    for (int c = first_cell; c < cells; c++) {
        int count = 0;
        for (int dy = 0; dy < 4; dy++) {
            for (int dx = 0; dx < 4; dx++) {
                size_t i = (size_t)dy * width + (size_t)c * 4 + dx;
                count += (mask[i] & allowed[i] & select) != 0;
            }
        }
        counts[c] = (uint8_t)count;
    }
}

static uint64_t sad_scalar(const uint8_t *a, const uint8_t *b, size_t count) {
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++) sum += (uint64_t)(a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]);
    return sum;
}

#if VK_X86

// MARK: - Vector sigma-delta (SSE2 and AVX2)

/// Lane numbers 0-31, to tell new lanes from those a step must leave alone.
static const uint8_t vk_lane_index[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                          16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/// The vector sigma-delta, written once for both widths. It defines, for instruction set ISA
/// (function attribute ATTR, vector type V of N lanes, intrinsic prefix P and suffix S, movemask
/// of all lanes ALL):
///
/// - `sigma_delta_step_ISA`: one step over the N pixels of the row at offset `row`, from column x
///   (at least 1, with x + N < width, so the 3x3 neighbourhood is inside the row); lanes below
///   `done` were already stepped and keep what memory holds. Returns the changed new pixels.
/// - `sigma_delta_span_ISA`: row y from column *x up to the last column (left to the scalar border
///   rule): whole steps, then one step that overlaps what is done. Advances *x; returns the
///   changed pixels.
#define VK_SIGMA_DELTA_VECTOR(ISA, ATTR, V, P, S, N, ALL)                                                        \
    ATTR static inline void sigma_delta_step_##ISA(                                                              \
        const uint8_t *frame, const uint8_t *background, uint8_t *updated, uint8_t *variance, uint8_t *mask,     \
        const uint8_t *const rows[3], size_t row, int x, int done, vk_sigma_delta_params p,                      \
        vk_sigma_delta_counts *counts) {                                                                         \
        const V one = P##_set1_epi8(1), zero = P##_setzero_##S(), all = P##_set1_epi8(-1);                     \
        const V keep = P##_cmpgt_epi8(P##_set1_epi8((char)done), P##_loadu_##S((const V *)vk_lane_index));      \
        size_t i = row + (size_t)x;                                                                              \
        V f = P##_loadu_##S((const V *)(frame + i));                                                             \
        V b = P##_loadu_##S((const V *)(background + i));                                                        \
        V v = P##_loadu_##S((const V *)(variance + i));                                                          \
        V up = P##_subs_epu8(f, b), down = P##_subs_epu8(b, f);                                                  \
        V d = P##_or_##S(up, down);                                                                              \
        V threshold = P##_max_epu8(v, P##_set1_epi8((char)p.min_threshold));                                     \
        V over = P##_subs_epu8(d, threshold);                                                                    \
        V is_changed = P##_andnot_##S(keep, P##_xor_##S(P##_cmpeq_epi8(over, zero), all));                       \
        V quiet = P##_cmpeq_epi8(P##_subs_epu8(v, P##_set1_epi8((char)p.min_threshold)), zero);                   \
        if (p.shake_tolerant && (unsigned)P##_movemask_epi8(P##_cmpeq_epi8(over, zero)) != (ALL)) {             \
            V lo = b, hi = b;                                                                                    \
            for (int r = 0; r < 3; r++) {                                                                        \
                for (int dx = -1; dx <= 1; dx++) {                                                               \
                    V n = P##_loadu_##S((const V *)(rows[r] + x + dx));                                          \
                    lo = P##_min_epu8(lo, n);                                                                    \
                    hi = P##_max_epu8(hi, n);                                                                    \
                }                                                                                                \
            }                                                                                                    \
            over = P##_subs_epu8(P##_max_epu8(P##_subs_epu8(f, hi), P##_subs_epu8(lo, f)), threshold);           \
        }                                                                                                        \
        V is_beyond = P##_andnot_##S(keep, P##_xor_##S(P##_cmpeq_epi8(over, zero), all));                        \
        V is_motion = P##_or_##S(P##_and_##S(quiet, is_changed), P##_andnot_##S(quiet, is_beyond));               \
        V marks = P##_or_##S(P##_or_##S(P##_and_##S(is_changed, P##_set1_epi8(VK_CHANGED)),                       \
                                        P##_and_##S(is_beyond, P##_set1_epi8(VK_BEYOND_RANGE))),                  \
                             P##_and_##S(is_motion, P##_set1_epi8(VK_MOTION)));                                   \
        V old_mask = P##_loadu_##S((const V *)(mask + i));                                                       \
        P##_storeu_##S((V *)(mask + i), P##_or_##S(marks, P##_and_##S(keep, old_mask)));                        \
        V moved = P##_subs_epu8(P##_adds_epu8(b, P##_min_epu8(up, one)), P##_min_epu8(down, one));               \
        V old_updated = P##_loadu_##S((const V *)(updated + i));                                                 \
        P##_storeu_##S((V *)(updated + i), P##_or_##S(P##_andnot_##S(keep, moved), P##_and_##S(keep, old_updated))); \
        V target = d;                                                                                            \
        for (int s = 0; s < p.noise_shift; s++) target = P##_adds_epu8(target, target);                         \
        V w = P##_subs_epu8(P##_adds_epu8(v, P##_min_epu8(P##_subs_epu8(target, v), one)),                       \
                            P##_min_epu8(P##_subs_epu8(v, target), one));                                        \
        w = P##_min_epu8(P##_max_epu8(w, P##_set1_epi8((char)p.min_variance)), P##_set1_epi8((char)p.max_variance)); \
        P##_storeu_##S((V *)(variance + i), P##_or_##S(P##_andnot_##S(keep, w), P##_and_##S(keep, v)));          \
        counts->changed += (uint32_t)__builtin_popcount((unsigned)P##_movemask_epi8(is_changed));                \
        counts->beyond_range += (uint32_t)__builtin_popcount((unsigned)P##_movemask_epi8(is_beyond));            \
    }                                                                                                            \
                                                                                                                 \
    ATTR static void sigma_delta_span_##ISA(const uint8_t *frame, const uint8_t *background, uint8_t *updated,     \
                                            uint8_t *variance, uint8_t *mask, int width, int height, int y,      \
                                            int *next, vk_sigma_delta_params p, vk_sigma_delta_counts *counts) { \
        size_t row = (size_t)y * width;                                                                          \
        const uint8_t *const rows[3] = {background + (y > 0 ? row - width : row), background + row,             \
                                        background + (y < height - 1 ? row + width : row)};                     \
        int x = *next;                                                                                           \
        for (; x + (N) + 1 <= width; x += (N)) {                                                                 \
            sigma_delta_step_##ISA(frame, background, updated, variance, mask, rows, row, x, 0, p, counts);      \
        }                                                                                                        \
        int last = width - (N) - 1; /* the step that ends just before the last column */                        \
        if (x < width - 1 && last >= 1) {                                                                        \
            sigma_delta_step_##ISA(frame, background, updated, variance, mask, rows, row, last, x - last, p,     \
                                   counts);                                                                      \
            x = width - 1;                                                                                       \
        }                                                                                                        \
        *next = x;                                                                                               \
    }

// MARK: - SSE2

/// Sums of adjacent byte pairs as 16-bit lanes.
static inline __m128i pair_sums_sse2(__m128i bytes) {
    __m128i low = _mm_and_si128(bytes, _mm_set1_epi16(0x00FF));
    return _mm_add_epi16(low, _mm_srli_epi16(bytes, 8));
}

/// Pair sums of 16 source bytes, accumulated down `factor` rows (16-bit lanes).
static inline __m128i column_pair_sums_sse2(const uint8_t *top, size_t stride, int factor) {
    __m128i sum = _mm_setzero_si128();
    for (int dy = 0; dy < factor; dy++) {
        sum = _mm_add_epi16(sum, pair_sums_sse2(_mm_loadu_si128((const __m128i *)(top + dy * stride))));
    }
    return sum;
}

/// Quad sums (32-bit lanes) of 16 source bytes per row over `factor` rows.
static inline __m128i quad_sums_sse2(const uint8_t *top, size_t stride, int factor) {
    __m128i pairs = column_pair_sums_sse2(top, stride, factor);
    __m128i low = _mm_and_si128(pairs, _mm_set1_epi32(0xFFFF));
    return _mm_add_epi32(low, _mm_srli_epi32(pairs, 16));
}

static void downscale_row_sse2(const uint8_t *top, size_t stride, int factor, int out_width, uint8_t *out) {
    int x = 0;  // output column
    if (factor == 2) {
        for (; x + 16 <= out_width; x += 16) {
            const uint8_t *src = top + (size_t)x * 2;
            __m128i a = _mm_srli_epi16(_mm_add_epi16(column_pair_sums_sse2(src, stride, 2), _mm_set1_epi16(2)), 2);
            __m128i b = _mm_srli_epi16(_mm_add_epi16(column_pair_sums_sse2(src + 16, stride, 2), _mm_set1_epi16(2)), 2);
            _mm_storeu_si128((__m128i *)(out + x), _mm_packus_epi16(a, b));
        }
    } else if (factor == 4) {
        for (; x + 16 <= out_width; x += 16) {
            const uint8_t *src = top + (size_t)x * 4;
            __m128i rounding = _mm_set1_epi32(8);
            __m128i q[4];
            for (int k = 0; k < 4; k++) {
                q[k] = _mm_srli_epi32(_mm_add_epi32(quad_sums_sse2(src + 16 * k, stride, 4), rounding), 4);
            }
            __m128i words = _mm_packus_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
            _mm_storeu_si128((__m128i *)(out + x), words);
        }
    } else if (factor == 8) {
        for (; x + 2 <= out_width; x += 2) {
            __m128i quads = quad_sums_sse2(top + (size_t)x * 8, stride, 8);
            __m128i octets = _mm_add_epi64(_mm_and_si128(quads, _mm_set_epi32(0, -1, 0, -1)), _mm_srli_epi64(quads, 32));
            uint64_t lanes[2];
            _mm_storeu_si128((__m128i *)lanes, octets);
            out[x] = (uint8_t)((lanes[0] + 32) >> 6);
            out[x + 1] = (uint8_t)((lanes[1] + 32) >> 6);
        }
    }
    downscale_row_scalar(top, stride, factor, x, out_width, out);
}

VK_SIGMA_DELTA_VECTOR(sse2, , __m128i, _mm, si128, 16, 0xFFFFu)

static uint64_t sum_sse2(const uint8_t *pixels, size_t count) {
    __m128i total = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        total = _mm_add_epi64(total, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(pixels + i)), _mm_setzero_si128()));
    }
    uint64_t lanes[2];
    _mm_storeu_si128((__m128i *)lanes, total);
    return lanes[0] + lanes[1] + sum_scalar(pixels + i, count - i);
}

/// Horizontal sum of the four 32-bit lanes.
static inline uint32_t lanes32_sse2(__m128i v) {
    v = _mm_add_epi32(v, _mm_srli_si128(v, 8));
    v = _mm_add_epi32(v, _mm_srli_si128(v, 4));
    return (uint32_t)_mm_cvtsi128_si32(v);
}

/// Moments of one full-width (16 px) block over rows [y0, y1).
static void moments_block_sse2(const uint8_t *frame, const uint8_t *background, int width, int x0, int y0, int y1,
                               vk_block_moments *m) {
    const __m128i zero = _mm_setzero_si128();
    __m128i bsums = zero, fsums = zero, bb = zero, ff = zero, bf = zero;
    for (int y = y0; y < y1; y++) {
        __m128i b = _mm_loadu_si128((const __m128i *)(background + (size_t)y * width + x0));
        __m128i f = _mm_loadu_si128((const __m128i *)(frame + (size_t)y * width + x0));
        bsums = _mm_add_epi64(bsums, _mm_sad_epu8(b, zero));
        fsums = _mm_add_epi64(fsums, _mm_sad_epu8(f, zero));
        __m128i b_lo = _mm_unpacklo_epi8(b, zero), b_hi = _mm_unpackhi_epi8(b, zero);
        __m128i f_lo = _mm_unpacklo_epi8(f, zero), f_hi = _mm_unpackhi_epi8(f, zero);
        bb = _mm_add_epi32(bb, _mm_add_epi32(_mm_madd_epi16(b_lo, b_lo), _mm_madd_epi16(b_hi, b_hi)));
        ff = _mm_add_epi32(ff, _mm_add_epi32(_mm_madd_epi16(f_lo, f_lo), _mm_madd_epi16(f_hi, f_hi)));
        bf = _mm_add_epi32(bf, _mm_add_epi32(_mm_madd_epi16(b_lo, f_lo), _mm_madd_epi16(b_hi, f_hi)));
    }
    m->pixels += (uint32_t)(16 * (y1 - y0));
    m->sum_b += lanes32_sse2(bsums);
    m->sum_f += lanes32_sse2(fsums);
    m->sum_bb += lanes32_sse2(bb);
    m->sum_ff += lanes32_sse2(ff);
    m->sum_bf += lanes32_sse2(bf);
}

static void cell_counts_row_sse2(const uint8_t *mask, const uint8_t *allowed, uint8_t select, int width, int cells,
                                 uint8_t *counts) {
    const __m128i one = _mm_set1_epi8(1), zero = _mm_setzero_si128(), selected = _mm_set1_epi8((char)select);
    int c = 0;
    for (; c + 4 <= cells; c += 4) {
        __m128i rows = _mm_setzero_si128();
        for (int dy = 0; dy < 4; dy++) {
            size_t i = (size_t)dy * width + (size_t)c * 4;
            __m128i set = _mm_and_si128(_mm_and_si128(_mm_loadu_si128((const __m128i *)(mask + i)),
                                                      _mm_loadu_si128((const __m128i *)(allowed + i))), selected);
            rows = _mm_add_epi8(rows, _mm_andnot_si128(_mm_cmpeq_epi8(set, zero), one));
        }
        __m128i pairs = _mm_add_epi16(_mm_and_si128(rows, _mm_set1_epi16(0x00FF)), _mm_srli_epi16(rows, 8));
        __m128i quads = _mm_add_epi32(_mm_and_si128(pairs, _mm_set1_epi32(0xFFFF)), _mm_srli_epi32(pairs, 16));
        uint32_t lanes[4];
        _mm_storeu_si128((__m128i *)lanes, quads);
        for (int k = 0; k < 4; k++) counts[c + k] = (uint8_t)lanes[k];
    }
    cell_counts_row_scalar(mask, allowed, select, width, c, cells, counts);
}

static uint64_t sad_sse2(const uint8_t *a, const uint8_t *b, size_t count) {
    __m128i total = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        total = _mm_add_epi64(total, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(a + i)),
                                                  _mm_loadu_si128((const __m128i *)(b + i))));
    }
    uint64_t lanes[2];
    _mm_storeu_si128((__m128i *)lanes, total);
    return lanes[0] + lanes[1] + sad_scalar(a + i, b + i, count - i);
}

// MARK: - AVX2

#define VK_AVX2 __attribute__((target("avx2")))

/// Pair sums (16-bit lanes) of 32 source bytes, accumulated down `factor` rows.
VK_AVX2 static inline __m256i column_pair_sums_avx2(const uint8_t *top, size_t stride, int factor) {
    const __m256i ones = _mm256_set1_epi8(1);
    __m256i sum = _mm256_setzero_si256();
    for (int dy = 0; dy < factor; dy++) {
        __m256i bytes = _mm256_loadu_si256((const __m256i *)(top + dy * stride));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(bytes, ones));
    }
    return sum;
}

/// Quad sums (32-bit lanes) of 32 source bytes per row over `factor` rows.
VK_AVX2 static inline __m256i quad_sums_avx2(const uint8_t *top, size_t stride, int factor) {
    return _mm256_madd_epi16(column_pair_sums_avx2(top, stride, factor), _mm256_set1_epi16(1));
}

/// AVX2 packs work per 128-bit lane; this restores source order after one.
VK_AVX2 static inline __m256i in_order(__m256i packed) { return _mm256_permute4x64_epi64(packed, 0xD8); }

VK_AVX2 static void downscale_row_avx2(const uint8_t *top, size_t stride, int factor, int out_width, uint8_t *out) {
    int x = 0;
    if (factor == 2) {
        const __m256i rounding = _mm256_set1_epi16(2);
        for (; x + 32 <= out_width; x += 32) {
            const uint8_t *src = top + (size_t)x * 2;
            __m256i a = _mm256_srli_epi16(_mm256_add_epi16(column_pair_sums_avx2(src, stride, 2), rounding), 2);
            __m256i b = _mm256_srli_epi16(_mm256_add_epi16(column_pair_sums_avx2(src + 32, stride, 2), rounding), 2);
            _mm256_storeu_si256((__m256i *)(out + x), in_order(_mm256_packus_epi16(a, b)));
        }
    } else if (factor == 4) {
        const __m256i rounding = _mm256_set1_epi32(8);
        for (; x + 32 <= out_width; x += 32) {
            const uint8_t *src = top + (size_t)x * 4;
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                q[k] = _mm256_srli_epi32(_mm256_add_epi32(quad_sums_avx2(src + 32 * k, stride, 4), rounding), 4);
            }
            __m256i low = in_order(_mm256_packs_epi32(q[0], q[1]));
            __m256i high = in_order(_mm256_packs_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(out + x), in_order(_mm256_packus_epi16(low, high)));
        }
    } else if (factor == 8) {
        for (; x + 4 <= out_width; x += 4) {
            __m256i quads = quad_sums_avx2(top + (size_t)x * 8, stride, 8);
            __m256i octets = _mm256_add_epi64(_mm256_and_si256(quads, _mm256_set1_epi64x(0xFFFFFFFF)),
                                              _mm256_srli_epi64(quads, 32));
            uint64_t lanes[4];
            _mm256_storeu_si256((__m256i *)lanes, octets);
            for (int k = 0; k < 4; k++) out[x + k] = (uint8_t)((lanes[k] + 32) >> 6);
        }
    }
    downscale_row_scalar(top, stride, factor, x, out_width, out);
}

VK_SIGMA_DELTA_VECTOR(avx2, VK_AVX2, __m256i, _mm256, si256, 32, 0xFFFFFFFFu)

VK_AVX2 static uint64_t sum_avx2(const uint8_t *pixels, size_t count) {
    __m256i total = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        total = _mm256_add_epi64(total, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(pixels + i)),
                                                        _mm256_setzero_si256()));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, total);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + sum_scalar(pixels + i, count - i);
}

VK_AVX2 static uint64_t sad_avx2(const uint8_t *a, const uint8_t *b, size_t count) {
    __m256i total = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        total = _mm256_add_epi64(total, _mm256_sad_epu8(_mm256_loadu_si256((const __m256i *)(a + i)),
                                                        _mm256_loadu_si256((const __m256i *)(b + i))));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, total);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + sad_scalar(a + i, b + i, count - i);
}

#endif  // VK_X86

// MARK: - Dispatch

/// Falls back to the best supported variant when `isa` is not available on this CPU.
static vk_isa usable(vk_isa isa) {
    vk_isa best = vk_best_isa();
    return isa > best ? best : isa;
}

void vk_downscale(vk_isa isa, const uint8_t *src, size_t src_stride, int width, int height, int factor, uint8_t *dst,
                  size_t dst_stride) {
    int out_width = width / factor, out_height = height / factor;
    isa = usable(isa);
    for (int y = 0; y < out_height; y++) {
        const uint8_t *top = src + (size_t)y * factor * src_stride;
        uint8_t *out = dst + (size_t)y * dst_stride;
        if (factor == 1) {
            memcpy(out, top, (size_t)out_width);
            continue;
        }
#if VK_X86
        if (isa == VK_ISA_AVX2) {
            downscale_row_avx2(top, src_stride, factor, out_width, out);
            continue;
        }
        if (isa == VK_ISA_SSE2) {
            downscale_row_sse2(top, src_stride, factor, out_width, out);
            continue;
        }
#endif
        downscale_row_scalar(top, src_stride, factor, 0, out_width, out);
    }
}

vk_sigma_delta_counts vk_sigma_delta(vk_isa isa, const uint8_t *frame, const uint8_t *background, uint8_t *updated,
                                     uint8_t *variance, uint8_t *mask, int width, int height,
                                     vk_sigma_delta_params params) {
    isa = usable(isa);
    vk_sigma_delta_counts counts = {0, 0};
    for (int y = 0; y < height; y++) {
        // The first column and the tail of each row are scalar: their neighbourhoods need the border rule.
        int x = 0;
        if (isa != VK_ISA_SCALAR) {
            add_counts(&counts, sigma_delta_row_scalar(frame, background, updated, variance, mask, width, height, y,
                                                       0, 1, params));
            x = 1;
#if VK_X86
            if (isa == VK_ISA_AVX2) {
                sigma_delta_span_avx2(frame, background, updated, variance, mask, width, height, y, &x, params,
                                      &counts);
            } else {
                sigma_delta_span_sse2(frame, background, updated, variance, mask, width, height, y, &x, params,
                                      &counts);
            }
#endif
        }
        add_counts(&counts, sigma_delta_row_scalar(frame, background, updated, variance, mask, width, height, y, x,
                                                   width, params));
    }
    return counts;
}

void vk_block_moments_of(vk_isa isa, const uint8_t *frame, const uint8_t *background, int width, int height,
                         vk_block_moments *out) {
    isa = usable(isa);
    int blocks_x = (width + VK_BLOCK - 1) / VK_BLOCK, blocks_y = (height + VK_BLOCK - 1) / VK_BLOCK;
    for (int by = 0; by < blocks_y; by++) {
        int y0 = by * VK_BLOCK, y1 = y0 + VK_BLOCK < height ? y0 + VK_BLOCK : height;
        for (int bx = 0; bx < blocks_x; bx++) {
            int x0 = bx * VK_BLOCK, x1 = x0 + VK_BLOCK < width ? x0 + VK_BLOCK : width;
            vk_block_moments *m = &out[by * blocks_x + bx];
            memset(m, 0, sizeof *m);
#if VK_X86
            // One 16-byte row segment per block row: SSE2 serves the AVX2 level too.
            if (isa != VK_ISA_SCALAR && x1 - x0 == VK_BLOCK) {
                moments_block_sse2(frame, background, width, x0, y0, y1, m);
                continue;
            }
#endif
            moments_scalar(frame, background, width, x0, x1, y0, y1, m);
        }
    }
}

/// The two block centres around pixel coordinate `v` (block centres sit at k * VK_BLOCK + VK_BLOCK / 2
/// - 0.5) and the weight of the second.
static void bracket(int v, int blocks, int *first, int *second, float *weight) {
    float position = ((float)v + 0.5f) / VK_BLOCK - 0.5f;
    int k = position < 0 ? 0 : (int)position;
    if (k > blocks - 1) k = blocks - 1;
    float w = position - (float)k;
    *first = k;
    *second = k + 1 < blocks ? k + 1 : k;
    *weight = w < 0 ? 0 : w > 1 ? 1 : w;
}

void vk_relight_blocks(uint8_t *plane, int width, int height, const float *gain, const float *offset,
                       const uint8_t *relit) {
    int blocks_x = (width + VK_BLOCK - 1) / VK_BLOCK, blocks_y = (height + VK_BLOCK - 1) / VK_BLOCK;
    for (int y = 0; y < height; y++) {
        int by0, by1;
        float wy;
        bracket(y, blocks_y, &by0, &by1, &wy);
        uint8_t *row = plane + (size_t)y * width;
        for (int x = 0; x < width; x++) {
            if (!relit[(y / VK_BLOCK) * blocks_x + x / VK_BLOCK]) continue;
            int bx0, bx1;
            float wx;
            bracket(x, blocks_x, &bx0, &bx1, &wx);
            int corners[4] = {by0 * blocks_x + bx0, by0 * blocks_x + bx1, by1 * blocks_x + bx0, by1 * blocks_x + bx1};
            float weights[4] = {(1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx};
            float total = 0, g = 0, o = 0;
            for (int k = 0; k < 4; k++) {
                if (!relit[corners[k]]) continue;
                total += weights[k];
                g += weights[k] * gain[corners[k]];
                o += weights[k] * offset[corners[k]];
            }
            if (total <= 0) continue;
            float value = ((float)row[x] * g + o) / total + 0.5f;
            row[x] = (uint8_t)(value < 0 ? 0 : value > 255 ? 255 : value);
        }
    }
}

void vk_cell_counts(vk_isa isa, const uint8_t *mask, const uint8_t *allowed, uint8_t select, int width, int height,
                    uint8_t *counts) {
    isa = usable(isa);
    int cells_x = width / 4, cells_y = height / 4;
    for (int cy = 0; cy < cells_y; cy++) {
        const uint8_t *m = mask + (size_t)cy * 4 * width, *a = allowed + (size_t)cy * 4 * width;
        uint8_t *out = counts + (size_t)cy * cells_x;
#if VK_X86
        // 16 bytes hold four cells: SSE2 serves the AVX2 level too.
        if (isa != VK_ISA_SCALAR) {
            cell_counts_row_sse2(m, a, select, width, cells_x, out);
            continue;
        }
#endif
        cell_counts_row_scalar(m, a, select, width, 0, cells_x, out);
    }
}

uint64_t vk_sad(vk_isa isa, const uint8_t *a, const uint8_t *b, size_t count) {
    switch (usable(isa)) {
#if VK_X86
    case VK_ISA_AVX2: return sad_avx2(a, b, count);
    case VK_ISA_SSE2: return sad_sse2(a, b, count);
#endif
    default: return sad_scalar(a, b, count);
    }
}

uint64_t vk_gradient_energy(vk_isa isa, const uint8_t *plane, int width, int height) {
    uint64_t sum = 0;
    for (int y = 0; y < height; y++) {
        const uint8_t *row = plane + (size_t)y * width;
        sum += vk_sad(isa, row, row + 1, (size_t)width - 1);
        if (y + 1 < height) sum += vk_sad(isa, row, row + width, (size_t)width);
    }
    return sum;
}

uint64_t vk_sum(vk_isa isa, const uint8_t *pixels, size_t count) {
    switch (usable(isa)) {
#if VK_X86
    case VK_ISA_AVX2: return sum_avx2(pixels, count);
    case VK_ISA_SSE2: return sum_sse2(pixels, count);
#endif
    default: return sum_scalar(pixels, count);
    }
}
