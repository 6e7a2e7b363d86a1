import Foundation
import CVigilKernels
import Testing
import VigilDetector

/// SIMD and scalar kernels must agree bit for bit, whatever the sizes and data.
@Suite("SIMD kernels agree with the scalar reference")
struct KernelAgreementTests {
    static let simdISAs = KernelISA.allCases.filter { $0 != .scalar && $0.isSupported }

    struct Lcg {
        var state: UInt64
        mutating func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in next() } }
    }

    @Test("box downscale agrees for every factor on odd sizes and random planes",
          arguments: [1, 2, 4, 8])
    func downscaleAgrees(factor: Int) throws {
        var random = Lcg(state: UInt64(factor))
        for (width, height) in [(1920, 1080), (333, 77), (640, 360), (97, 35), (8, 8)] {
            let stride = width + 13
            let source = random.bytes(stride * height)
            let outWidth = width / factor, outHeight = height / factor
            guard outWidth > 0, outHeight > 0 else { continue }
            func run(_ isa: KernelISA) -> [UInt8] {
                var out = [UInt8](repeating: 0, count: outWidth * outHeight)
                vk_downscale(vk_isa(rawValue: UInt32(isa.rawValue)), source, stride, Int32(width), Int32(height),
                             Int32(factor), &out, outWidth)
                return out
            }
            let reference = run(.scalar)
            // The reference itself is the exact rounded block mean.
            var sum = 0
            for dy in 0..<factor { for dx in 0..<factor { sum += Int(source[dy * stride + dx]) } }
            #expect(Int(reference[0]) == (sum + factor * factor / 2) / (factor * factor))
            for isa in Self.simdISAs {
                #expect(run(isa) == reference, "\(isa) differs at \(width)x\(height) factor \(factor)")
            }
        }
    }

    static func c(_ isa: KernelISA) -> vk_isa { vk_isa(rawValue: UInt32(isa.rawValue)) }

    /// Odd sizes (tails for every vector width) and a 1080p analysis plane.
    static let planeSizes = [(1, 1), (7, 5), (33, 17), (97, 35), (480, 270)]

    @Test("sigma-delta step agrees: marks, counts, background and variance, plain and shake-tolerant")
    func sigmaDeltaAgrees() {
        var random = Lcg(state: 42)
        for (width, height) in Self.planeSizes + [(320, 180), (35, 3), (65, 2)] {
            let count = width * height
            for shift in [0, 1, 2] {
                let background = random.bytes(count)
                // Frames near the background (where the range matters) and far from it.
                let frame = zip(background, random.bytes(count)).map { b, r in r < 128 ? b &+ (r % 24) &- 12 : r }
                // Mix of small and large variances, including the clamp bounds.
                let variance = random.bytes(count)
                for tolerant in [UInt8(0), 1] {
                    let params = vk_sigma_delta_params(min_threshold: random.next() % 20 | 1, min_variance: 2,
                                                       max_variance: 200, noise_shift: UInt8(shift),
                                                       shake_tolerant: tolerant)
                    func run(_ isa: KernelISA) -> ([UInt32], [UInt8], [UInt8], [UInt8]) {
                        var updated = [UInt8](repeating: 3, count: count), v = variance
                        var m = [UInt8](repeating: 7, count: count)
                        let counts = vk_sigma_delta(Self.c(isa), frame, background, &updated, &v, &m, Int32(width),
                                                    Int32(height), params)
                        return ([counts.changed, counts.beyond_range], updated, v, m)
                    }
                    let reference = run(.scalar)
                    let (changed, beyond, motion) = (UInt8(VK_CHANGED), UInt8(VK_BEYOND_RANGE), UInt8(VK_MOTION))
                    #expect(Int(reference.0[0]) == reference.3.filter { $0 & changed != 0 }.count)
                    #expect(Int(reference.0[1]) == reference.3.filter { $0 & beyond != 0 }.count)
                    // Beyond the range implies changed (the same without the tolerance); motion is the
                    // range's verdict where the pixel's noise is above the threshold, else the plain one.
                    for (index, marks) in reference.3.enumerated() {
                        let noisy = variance[index] > params.min_threshold
                        let expected = marks & (noisy ? beyond : changed) != 0
                        let consistent = (marks & beyond == 0 || marks & changed != 0)
                            && (tolerant == 1 || marks & beyond == (marks & changed) << 1)
                        #expect(consistent && (marks & motion != 0) == expected, "marks \(marks) at \(index)")
                        if !consistent || (marks & motion != 0) != expected { break }
                    }
                    for isa in Self.simdISAs {
                        let result = run(isa)
                        let place = "\(isa) at \(width)x\(height) shift \(shift) tolerant \(tolerant)"
                        #expect(result.0 == reference.0, "count \(place)")
                        #expect(result.1 == reference.1, "background \(place)")
                        #expect(result.2 == reference.2, "variance \(place)")
                        #expect(result.3 == reference.3, "mask \(place)")
                    }
                }
            }
        }
    }

    @Test("shake tolerance compares a pixel with its background's 3x3 range")
    func shakeToleranceUsesTheRange() {
        // A vertical edge 50 | 150; the frame sees it one pixel to the left.
        let width = 40, height = 3
        let background = (0..<width * height).map { UInt8($0 % width < 20 ? 50 : 150) }
        let frame = (0..<width * height).map { UInt8($0 % width < 19 ? 50 : 150) }
        for tolerant in [UInt8(0), 1] {
            let params = vk_sigma_delta_params(min_threshold: 15, min_variance: 2, max_variance: 200, noise_shift: 2,
                                               shake_tolerant: tolerant)
            var updated = background, variance = [UInt8](repeating: 2, count: background.count)
            var mask = [UInt8](repeating: 0, count: background.count)
            let counts = vk_sigma_delta(Self.c(.scalar), frame, background, &updated, &variance, &mask,
                                        Int32(width), Int32(height), params)
            #expect(counts.beyond_range == (tolerant == 1 ? 0 : 3) && counts.changed == 3)
            // Either way the shifted column differs from its own background pixel: marked changed (and,
            // its noise being low, motion), and beyond the range only without the tolerance.
            let shifted = (0..<height).map { mask[$0 * width + 19] }
            let marks = UInt8(VK_CHANGED | VK_MOTION) | (tolerant == 1 ? 0 : UInt8(VK_BEYOND_RANGE))
            #expect(shifted == [UInt8](repeating: marks, count: height))
            #expect(mask.enumerated().allSatisfy { $0.offset % width == 19 || $0.element == 0 })
        }
    }

    @Test("block moments agree and equal the sums they name")
    func blockMomentsAgree() {
        var random = Lcg(state: 5)
        for (width, height) in Self.planeSizes {
            let frame = random.bytes(width * height), background = random.bytes(width * height)
            let blocks = ((width + 15) / 16) * ((height + 15) / 16)
            func run(_ isa: KernelISA) -> [[UInt32]] {
                var out = [vk_block_moments](repeating: vk_block_moments(), count: blocks)
                vk_block_moments_of(Self.c(isa), frame, background, Int32(width), Int32(height), &out)
                return out.map { [$0.pixels, $0.sum_b, $0.sum_f, $0.sum_bb, $0.sum_ff, $0.sum_bf] }
            }
            let reference = run(.scalar)
            let firstBlock = (0..<min(16, height)).flatMap { y in (0..<min(16, width)).map { y * width + $0 } }
            #expect(reference[0][0] == UInt32(firstBlock.count))
            #expect(reference[0][5] == firstBlock.reduce(0) { $0 + UInt32(frame[$1]) * UInt32(background[$1]) })
            for isa in Self.simdISAs {
                #expect(run(isa) == reference, "\(isa) at \(width)x\(height)")
            }
        }
    }

    @Test("cell counts agree and count the selected marks where allowed")
    func cellCountsAgree() {
        var random = Lcg(state: 11)
        let changed = UInt8(VK_CHANGED), beyond = UInt8(VK_BEYOND_RANGE)
        for (width, height) in Self.planeSizes + [(320, 180)] {
            let mask = random.bytes(width * height).map { $0 < 60 ? changed | beyond : $0 < 100 ? changed : 0 }
            let allowed = random.bytes(width * height).map { $0 < 200 ? UInt8(255) : 0 }
            let cells = (width / 4) * (height / 4)
            for select in [changed, beyond] {
                func run(_ isa: KernelISA) -> [UInt8] {
                    var out = [UInt8](repeating: 99, count: max(cells, 1))
                    vk_cell_counts(Self.c(isa), mask, allowed, select, Int32(width), Int32(height), &out)
                    return out
                }
                let reference = run(.scalar)
                if cells > 0 {
                    let first = (0..<4).flatMap { y in (0..<4).map { y * width + $0 } }
                    let counted = first.filter { allowed[$0] == 255 && mask[$0] & select != 0 }
                    #expect(Int(reference[0]) == counted.count)
                }
                for isa in Self.simdISAs { #expect(run(isa) == reference, "\(isa) at \(width)x\(height)") }
            }
        }
    }

    @Test("frame difference and edge energy agree with their definitions")
    func differenceAndEdgesAgree() {
        var random = Lcg(state: 13)
        for (width, height) in Self.planeSizes {
            let a = random.bytes(width * height), b = random.bytes(width * height)
            let sad = zip(a, b).reduce(UInt64(0)) { $0 + UInt64(abs(Int($1.0) - Int($1.1))) }
            var edges = UInt64(0)
            for y in 0..<height {
                for x in 0..<width {
                    let here = Int(a[y * width + x])
                    if x + 1 < width { edges += UInt64(abs(here - Int(a[y * width + x + 1]))) }
                    if y + 1 < height { edges += UInt64(abs(here - Int(a[(y + 1) * width + x]))) }
                }
            }
            for isa in KernelISA.allCases where isa.isSupported {
                #expect(vk_sad(Self.c(isa), a, b, a.count) == sad, "\(isa) SAD at \(width)x\(height)")
                #expect(vk_gradient_energy(Self.c(isa), a, Int32(width), Int32(height)) == edges,
                        "\(isa) edges at \(width)x\(height)")
            }
        }
    }

    @Test("relighting applies a lone block's own fit and leaves other blocks alone")
    func relightOneBlock() {
        let width = 48, height = 32  // 3 x 2 blocks
        var plane = [UInt8](repeating: 100, count: width * height)
        var gains = [Float](repeating: 1, count: 6), offsets = [Float](repeating: 0, count: 6)
        var relit = [UInt8](repeating: 0, count: 6)
        gains[4] = 0.5
        offsets[4] = 20
        relit[4] = 1
        vk_relight_blocks(&plane, Int32(width), Int32(height), gains, offsets, relit)
        #expect(plane[20 * width + 20] == 70)  // block (1, 1): 100 * 0.5 + 20
        #expect(plane[20 * width + 5] == 100)  // block (0, 1): not relit
        #expect(plane[5 * width + 20] == 100)  // block (1, 0): not relit
    }

    @Test("byte sum agrees")
    func sumAgrees() {
        var random = Lcg(state: 7)
        for count in [0, 1, 15, 17, 100_003] {
            let bytes = random.bytes(count)
            let expected = bytes.reduce(UInt64(0)) { $0 + UInt64($1) }
            for isa in KernelISA.allCases where isa.isSupported {
                #expect(vk_sum(vk_isa(rawValue: UInt32(isa.rawValue)), bytes, count) == expected)
            }
        }
    }

    @Test("the best variant is the one this CPU's architecture and features allow")
    func bestVariantMatchesTheCPU() throws {
        #if arch(x86_64)
        // SSE2 is part of x86-64; AVX2 exactly when the kernel lists it for this CPU.
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
        #expect(KernelISA.sse2.isSupported)
        #expect(KernelISA.avx2.isSupported == flags.contains("avx2"))
        #expect(KernelISA.best == (flags.contains("avx2") ? .avx2 : .sse2))
        #else
        // No SIMD variant is built for other architectures (ARM): the scalar reference runs.
        #expect(!KernelISA.sse2.isSupported && !KernelISA.avx2.isSupported)
        #expect(KernelISA.best == .scalar)
        #endif
        #expect(KernelISA.scalar.isSupported)
    }
}
