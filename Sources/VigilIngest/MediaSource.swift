import CFFmpeg

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to open a source and how long each blocking step may take.
public struct SourceOptions: Sendable, Equatable {
    /// Deadline for connecting, probing and preparing the decoder.
    public var openTimeout: Duration
    /// Deadline for each decoded frame; a stream silent for longer is reported as stalled.
    public var readTimeout: Duration
    /// Decoder threads; 1 is best when cameras outnumber cores.
    public var decoderThreads: Int
    /// Skip the H.264/HEVC loop filter (cheaper, for analysis-only decoding).
    public var skipLoopFilter: Bool
    /// Extra libav options (for example `["analyzeduration": "500000"]`); unknown ones fail the open.
    public var libavOptions: [String: String]

    public init(openTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(5), decoderThreads: Int = 1,
                skipLoopFilter: Bool = false, libavOptions: [String: String] = [:]) {
        self.openTimeout = openTimeout
        self.readTimeout = readTimeout
        self.decoderThreads = decoderThreads
        self.skipLoopFilter = skipLoopFilter
        self.libavOptions = libavOptions
    }
}

/// What an opened video stream says about itself.
public struct StreamInfo: Sendable, Equatable {
    public var codec: String
    public var width: Int
    public var height: Int
    /// Average frame rate, or nil when the stream does not say.
    public var framesPerSecond: Double?
}

/// One decoded picture, borrowed from the source: `luma` is valid only until the next call of
/// `nextFrame()` on the same source, or until the source is released.
public struct DecodedFrame {
    public let luma: UnsafePointer<UInt8>
    public let lumaStride: Int
    public let width: Int
    public let height: Int
    /// Presentation time in seconds, or nil when the stream carries none.
    public let presentationTime: Double?
    public let isKeyframe: Bool
    /// The decoder flagged the picture as damaged; concealment smears look like motion.
    public let isCorrupt: Bool
    /// Size of the compressed packet, in bytes.
    public let packetSize: Int
}

/// A video file or network stream, decoded frame by frame through the C shim.
///
/// Not thread-safe: open it, read it and release it on one thread (a camera's capture thread).
/// Only the `StopToken` it was given may be used from elsewhere.
public final class MediaSource {
    private let handle: OpaquePointer
    private let stopToken: StopToken
    public let info: StreamInfo

    /// Opens `url` (a file path, or an `rtsp://`/`rtsps://` URL with percent-encoded credentials).
    public init(url: String, options: SourceOptions = SourceOptions(), stopToken: StopToken = StopToken())
        throws(MediaError)
    {
        self.stopToken = stopToken
        let keys = Array(options.libavOptions.keys.sorted())
        let values = keys.map { options.libavOptions[$0]! }
        var status = VG_OK
        var errorText = [CChar](repeating: 0, count: 512)
        let opened: OpaquePointer? = withCStrings(keys) { keyPointers in
            withCStrings(values) { valuePointers in
                url.withCString { urlPointer in
                    var params = vg_open_params(
                        url: urlPointer, option_keys: keyPointers, option_values: valuePointers,
                        option_count: keys.count, open_timeout_us: options.openTimeout.microseconds,
                        read_timeout_us: options.readTimeout.microseconds,
                        decoder_threads: Int32(options.decoderThreads),
                        skip_loop_filter: options.skipLoopFilter ? 1 : 0)
                    return vg_source_open(&params, stopToken.pointer, &status, &errorText, errorText.count)
                }
            }
        }
        guard let opened else {
            throw MediaError(code: MediaError.Code(status), reason: String(cText: errorText))
        }
        handle = opened
        var streamInfo = vg_stream_info()
        vg_source_info(handle, &streamInfo)
        let codec = withUnsafeBytes(of: streamInfo.codec_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        info = StreamInfo(codec: codec, width: Int(streamInfo.width), height: Int(streamInfo.height),
                          framesPerSecond: streamInfo.frames_per_second > 0 ? streamInfo.frames_per_second : nil)
    }

    deinit {
        vg_source_close(handle)
    }

    /// Decodes the next picture. Throws `.endOfStream` once the input is exhausted, `.stalled`
    /// when no frame came within the read deadline, `.stopped` when the stop token was set.
    public func nextFrame() throws(MediaError) -> DecodedFrame {
        var frame = vg_frame()
        let status = withUnsafeMutablePointer(to: &errorBuffer) { buffer in
            buffer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout<ErrorBuffer>.size) {
                vg_source_next_frame(handle, &frame, $0, MemoryLayout<ErrorBuffer>.size)
            }
        }
        guard status == VG_OK, let luma = frame.luma else {
            let reason = withUnsafeBytes(of: errorBuffer) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw MediaError(code: MediaError.Code(status), reason: reason)
        }
        return DecodedFrame(
            luma: luma, lumaStride: Int(frame.luma_stride), width: Int(frame.width), height: Int(frame.height),
            presentationTime: frame.pts_seconds.isNaN ? nil : frame.pts_seconds,
            isKeyframe: frame.is_keyframe != 0, isCorrupt: frame.is_corrupt != 0, packetSize: Int(frame.packet_size))
    }

    /// Packets the decoder rejected as invalid so far (corrupt input).
    public var rejectedPackets: Int { Int(vg_source_rejected_packets(handle)) }

    /// A fixed buffer for error text, so that reading a frame never allocates.
    private typealias ErrorBuffer = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                                     UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    private var errorBuffer: ErrorBuffer = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

extension Duration {
    /// Whole microseconds, for libav deadlines.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

/// Calls `body` with a C array of C strings that live for the duration of the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    guard !strings.isEmpty else { return body(nil) }
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { body($0) }
    }
}
