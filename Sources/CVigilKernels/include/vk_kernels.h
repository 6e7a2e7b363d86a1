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
    /// A pixel changes when |frame - background| exceeds max(variance, min_threshold).
    uint8_t min_threshold;
    /// Bounds of the per-pixel variance estimate (the noise-adaptive threshold).
    uint8_t min_variance;
    uint8_t max_variance;
    /// The variance estimate tracks (2 ^ noise_shift) * |frame - background| (1 = 2x, 2 = 4x).
    uint8_t noise_shift;
} vk_sigma_delta_params;

/// One sigma-delta step over `count` pixels: marks changed pixels in `mask` (255 or 0), then
/// moves `background` one level towards `frame` and `variance` one level towards
/// 2^noise_shift * |frame - background|, clamped to its bounds. Returns the number of changed pixels.
uint32_t vk_sigma_delta(vk_isa isa, const uint8_t *frame, uint8_t *background, uint8_t *variance, uint8_t *mask,
                        size_t count, vk_sigma_delta_params params);

/// Sum of `count` bytes (for mean brightness).
uint64_t vk_sum(vk_isa isa, const uint8_t *pixels, size_t count);

#ifdef __cplusplus
}
#endif

#endif
