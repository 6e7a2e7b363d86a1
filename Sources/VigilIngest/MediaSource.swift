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

    /// A picture from somewhere other than the shim (a test's synthetic camera). `luma` belongs to
    /// the caller and must stay valid while the frame is used.
    public init(luma: UnsafePointer<UInt8>, lumaStride: Int, width: Int, height: Int, presentationTime: Double?,
                isKeyframe: Bool, isCorrupt: Bool, packetSize: Int) {
        self.luma = luma
        self.lumaStride = lumaStride
        self.width = width
        self.height = height
        self.presentationTime = presentationTime
        self.isKeyframe = isKeyframe
        self.isCorrupt = isCorrupt
        self.packetSize = packetSize
    }
}

extension DecodedFrame {
    /// Wraps a picture the shim filled in.
    fileprivate init(_ frame: vg_frame) {
        self.init(luma: frame.luma, lumaStride: Int(frame.luma_stride), width: Int(frame.width),
                  height: Int(frame.height), presentationTime: frame.pts_seconds.isNaN ? nil : frame.pts_seconds,
                  isKeyframe: frame.is_keyframe != 0, isCorrupt: frame.is_corrupt != 0,
                  packetSize: Int(frame.packet_size))
    }
}

/// One compressed packet of the video stream, as demuxed (not decoded).
public struct PacketInfo: Sendable, Equatable {
    public var size: Int
    public var isKeyframe: Bool
    /// Presentation time in seconds, or nil when the packet carries none.
    public var presentationTime: Double?
}

/// What a source has done so far.
public struct SourceCounters: Sendable, Equatable {
    /// Video packets demuxed.
    public var packetsRead: Int
    /// Packets handed to the decoder (again after a restart).
    public var packetsDecoded: Int
    /// Packets the decoder rejected as invalid (corrupt input).
    public var packetsRejected: Int
    /// Packets released without ever being decoded (adaptive decoding skipped them).
    public var packetsSkipped: Int
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
        let status = withErrorBuffer { vg_source_next_frame(handle, &frame, $0, $1) }
        guard status == VG_OK else { throw lastError(status) }
        return DecodedFrame(frame)
    }

    /// Reads the next compressed packet of the video stream into the source's GOP buffer without
    /// decoding it (see `decodeBuffered(drain:)`). Throws `.endOfStream` at the end of the input,
    /// `.stalled` when no packet came within the read deadline, `.stopped` when stopped.
    public func readPacket() throws(MediaError) -> PacketInfo {
        var packet = vg_packet_info()
        let status = withErrorBuffer { vg_source_read_packet(handle, &packet, $0, $1) }
        guard status == VG_OK else { throw lastError(status) }
        return PacketInfo(size: Int(packet.size), isKeyframe: packet.is_keyframe != 0,
                          presentationTime: packet.pts_seconds.isNaN ? nil : packet.pts_seconds)
    }

    /// Decodes buffered packets not decoded yet until a picture comes out; nil when all are decoded.
    /// With `drain`, also takes the pictures the decoder holds back (a keyframe-only check on a
    /// stream with reordering). Never returns a picture twice, even when the shim had to restart
    /// the decoder from the GOP's keyframe to catch up.
    public func decodeBuffered(drain: Bool) throws(MediaError) -> DecodedFrame? {
        var frame = vg_frame()
        var hasFrame: Int32 = 0
        let status = withErrorBuffer { vg_source_decode_buffered(handle, &frame, drain ? 1 : 0, &hasFrame, $0, $1) }
        guard status == VG_OK else { throw lastError(status) }
        return hasFrame != 0 ? DecodedFrame(frame) : nil
    }

    /// Presentation time of the newest packet demuxed, in seconds: the live edge.
    public var newestPacketTime: Double? {
        let seconds = vg_source_newest_packet_seconds(handle)
        return seconds.isNaN ? nil : seconds
    }

    /// What the source has done so far: packets demuxed, decoded, rejected and never decoded.
    public var counters: SourceCounters {
        var counters = vg_source_counters()
        vg_source_get_counters(handle, &counters)
        return SourceCounters(packetsRead: Int(counters.packets_read), packetsDecoded: Int(counters.packets_decoded),
                              packetsRejected: Int(counters.packets_rejected),
                              packetsSkipped: Int(counters.packets_skipped))
    }

    private func withErrorBuffer(_ body: (UnsafeMutablePointer<CChar>, Int) -> vg_status) -> vg_status {
        withUnsafeMutablePointer(to: &errorBuffer) { buffer in
            buffer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout<ErrorBuffer>.size) {
                body($0, MemoryLayout<ErrorBuffer>.size)
            }
        }
    }

    private func lastError(_ status: vg_status) -> MediaError {
        let reason = withUnsafeBytes(of: errorBuffer) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MediaError(code: MediaError.Code(status), reason: reason)
    }

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
