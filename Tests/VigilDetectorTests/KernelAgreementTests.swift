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

    @Test("sigma-delta step agrees: mask, count, background and variance")
    func sigmaDeltaAgrees() {
        var random = Lcg(state: 42)
        for count in [1, 31, 33, 4096, 129_601] {
            for shift in [0, 1, 2] {
                let frame = random.bytes(count)
                let background = random.bytes(count)
                // Mix of small and large variances, including the clamp bounds.
                let variance = random.bytes(count)
                let params = vk_sigma_delta_params(min_threshold: random.next() | 1, min_variance: 2,
                                                   max_variance: 200, noise_shift: UInt8(shift))
                func run(_ isa: KernelISA) -> (UInt32, [UInt8], [UInt8], [UInt8]) {
                    var b = background, v = variance, m = [UInt8](repeating: 7, count: count)
                    let changed = vk_sigma_delta(vk_isa(rawValue: UInt32(isa.rawValue)), frame, &b, &v, &m, count,
                                                 params)
                    return (changed, b, v, m)
                }
                let reference = run(.scalar)
                #expect(Int(reference.0) == reference.3.filter { $0 == 255 }.count)
                for isa in Self.simdISAs {
                    let result = run(isa)
                    #expect(result.0 == reference.0, "\(isa) count at \(count)")
                    #expect(result.1 == reference.1, "\(isa) background at \(count)")
                    #expect(result.2 == reference.2, "\(isa) variance at \(count)")
                    #expect(result.3 == reference.3, "\(isa) mask at \(count)")
                }
            }
        }
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

    @Test("this machine runs a SIMD variant")
    func simdIsAvailable() {
        #expect(KernelISA.best != .scalar)
    }
}
