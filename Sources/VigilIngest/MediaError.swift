import CFFmpeg

/// Why a media source could not open or deliver a frame.
///
/// A struct with a `Code` rather than an enum, so that new codes do not break callers.
/// `reason` never contains the URL or credentials.
public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of failure, which decides what a caller does next (retry, back off, give up).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        private init(name: String) {
            self.name = name
        }

        /// The stream ended (end of file, or the server closed the session).
        public static let endOfStream = Code(name: "end of stream")
        /// No data came within the open or read deadline.
        public static let stalled = Code(name: "stalled")
        /// The stop token was set.
        public static let stopped = Code(name: "stopped")
        /// The camera answered 401 or 403: wrong user name or password.
        public static let credentialsRejected = Code(name: "credentials rejected")
        /// The camera answered 404, or the file does not exist.
        public static let notFound = Code(name: "not found")
        /// Nothing listens at the address (camera down or rebooting).
        public static let connectionRefused = Code(name: "connection refused")
        /// Not decodable video (corrupt, no video stream, unsupported codec).
        public static let invalidData = Code(name: "invalid data")
        /// An option libav does not recognise.
        public static let unknownOption = Code(name: "unknown option")
        /// The network failed on the way to the camera (no route, unreachable, connection reset).
        public static let networkError = Code(name: "network error")
        /// The pictures fell further behind the live stream than the bound and skipping ahead did not
        /// catch up: the link is slower than the stream (see `LiveEdge`).
        public static let fellBehind = Code(name: "fell behind")
        /// Anything else.
        public static let other = Code(name: "other")

        /// Failures of the way to the camera rather than of the camera's answer: worth a cheap
        /// reachability probe while waiting to reconnect.
        public var isNetworkFailure: Bool {
            [.connectionRefused, .networkError, .stalled, .endOfStream].contains(self)
        }

        public var description: String { name }

        init(_ status: vg_status) {
            switch status {
            case VG_END_OF_STREAM: self = .endOfStream
            case VG_STALLED: self = .stalled
            case VG_STOPPED: self = .stopped
            case VG_CREDENTIALS_REJECTED: self = .credentialsRejected
            case VG_NOT_FOUND: self = .notFound
            case VG_CONNECTION_REFUSED: self = .connectionRefused
            case VG_INVALID_DATA: self = .invalidData
            case VG_UNKNOWN_OPTION: self = .unknownOption
            case VG_NETWORK_ERROR: self = .networkError
            default: self = .other
            }
        }
    }

    public let code: Code
    /// A readable reason, e.g. "No such file or directory" or "no data within the read deadline (5.0 s)".
    public let reason: String

    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}

extension String {
    /// The NUL-terminated text the shim wrote into `buffer`.
    init(cText buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
