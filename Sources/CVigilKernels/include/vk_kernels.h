// Vigil's per-pixel kernels: tiny C functions with AVX2, SSE2 and scalar variants that give
// bit-identical results. The unsuffixed entry points pick the best variant the CPU supports.
// None of them allocates; every buffer is owned by the caller.
#ifndef VK_KERNELS_H
#define VK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction sets a kernel can be run with.
typedef enum {
    VK_ISA_SCALAR = 0,
    VK_ISA_SSE2 = 1,
    VK_ISA_AVX2 = 2,
} vk_isa;

/// The best instruction set this CPU supports.
vk_isa vk_best_isa(void);

/// Whether this CPU can run `isa`.
int vk_isa_supported(vk_isa isa);

/// Box-averages `src` (width x height, 8-bit, `src_stride` bytes a row) by `factor` (1, 2, 4 or 8)
/// into `dst` of (width / factor) x (height / factor) pixels, `dst_stride` bytes a row.
/// Each output pixel is (sum of its factor x factor block + factor * factor / 2) / (factor * factor).
/// Partial blocks at the right and bottom edges are left out.
void vk_downscale(vk_isa isa, const uint8_t *src, size_t src_stride, int width, int height, int factor,
                  uint8_t *dst, size_t dst_stride);

/// Parameters of the sigma-delta background model.
typedef struct {
    /// A pixel changes when it differs from the background by more than max(variance, min_threshold).
    uint8_t min_threshold;
    /// Bounds of the per-pixel variance estimate (the noise-adaptive threshold).
    uint8_t min_variance;
    uint8_t max_variance;
    /// The variance estimate tracks (2 ^ noise_shift) * |frame - background| (1 = 2x, 2 = 4x).
    uint8_t noise_shift;
    /// When set, a pixel is compared with the range (min to max) of the background's 3x3
    /// neighbourhood instead of the background pixel alone, so a view that jitters by a pixel is
    /// not a change.
    uint8_t shake_tolerant;
} vk_sigma_delta_params;

/// `vk_sigma_delta`'s marks in `mask`, bits of each pixel's byte:
/// - `VK_CHANGED`: it differs from its own background pixel by more than its threshold;
/// - `VK_BEYOND_RANGE`: it lies that far outside the 3x3 range of the background (with
///   `shake_tolerant`; else the same as `VK_CHANGED`);
/// - `VK_MOTION`: it counts as motion: beyond the range where the pixel's learned noise is above
///   `min_threshold` (it has been moving in place: leaves, the edges of a jittering view), changed
///   where it is quiet (there the range would eat the faint edges of a slow, low-contrast figure).
#define VK_CHANGED 0x01
#define VK_BEYOND_RANGE 0x02
#define VK_MOTION 0x04

/// Pixel counts of one `vk_sigma_delta` step.
typedef struct {
    uint32_t changed, beyond_range;
} vk_sigma_delta_counts;

/// One sigma-delta step over packed `width` x `height` planes: marks pixels in `mask` (the bits
/// above); writes to `updated` the `background` moved one level towards `frame` (the two
/// must not overlap: neighbourhoods are read from the unchanged background); moves `variance`
/// one level towards 2^noise_shift * |frame - background|, clamped to its bounds. Returns the
/// numbers of changed pixels and of pixels beyond the range.
vk_sigma_delta_counts vk_sigma_delta(vk_isa isa, const uint8_t *frame, const uint8_t *background, uint8_t *updated,
                                     uint8_t *variance, uint8_t *mask, int width, int height,
                                     vk_sigma_delta_params params);

/// Side of the square blocks `vk_block_moments` works on.
#define VK_BLOCK 16

/// Sums over one block of a frame `f` and its background `b`: what a least-squares fit
/// f = gain * b + offset needs. Exact integers (a block has at most 256 pixels).
typedef struct {
    uint32_t pixels, sum_b, sum_f, sum_bb, sum_ff, sum_bf;
} vk_block_moments;

/// Moments of every VK_BLOCK x VK_BLOCK block of two packed `width` x `height` planes, row-major into
/// `out` (ceil(width / VK_BLOCK) x ceil(height / VK_BLOCK) entries; edge blocks are partial).
void vk_block_moments_of(vk_isa isa, const uint8_t *frame, const uint8_t *background, int width, int height,
                         vk_block_moments *out);

/// Relights the blocks of `plane` (as in `vk_block_moments_of`) whose `relit` flag is set: each of
/// their pixels p becomes round(p * gain + offset), clamped to 0-255, with gain and offset
/// interpolated bilinearly between the centres of the neighbouring relit blocks (so a soft shadow
/// edge is followed smoothly; blocks that are not relit neither change nor count).
/// Scalar only: it runs on the rare frames where the light changed.
void vk_relight_blocks(uint8_t *plane, int width, int height, const float *gain, const float *offset,
                       const uint8_t *relit);

/// Counts, for each 4x4 cell of a packed `width` x `height` plane, the pixels whose `mask` has a
/// bit of `select` and whose `allowed` is 255 (else 0), into `counts` (width / 4 x height / 4,
/// partial cells left out).
void vk_cell_counts(vk_isa isa, const uint8_t *mask, const uint8_t *allowed, uint8_t select, int width, int height,
                    uint8_t *counts);

/// Sum of |a[i] - b[i]| over `count` bytes (frame-to-frame change).
uint64_t vk_sad(vk_isa isa, const uint8_t *a, const uint8_t *b, size_t count);

/// Sum of absolute differences between horizontal and vertical neighbours of a packed plane
/// (edge energy: near zero for a covered or blinded lens).
uint64_t vk_gradient_energy(vk_isa isa, const uint8_t *plane, int width, int height);

/// Sum of `count` bytes (for mean brightness).
uint64_t vk_sum(vk_isa isa, const uint8_t *pixels, size_t count);

#ifdef __cplusplus
}
#endif

#endif
