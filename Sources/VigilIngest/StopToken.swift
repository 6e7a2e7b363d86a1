import CFFmpeg

/// Ends a blocked open or read of the sources it was given to, from any thread, within about
/// a tenth of a second. Once set it stays set.
public final class StopToken: @unchecked Sendable {
    // The C token is an atomic flag; it is freed only when no source can use it any more,
    // because every MediaSource keeps its token alive.
    let pointer: OpaquePointer

    public init() {
        guard let pointer = vg_stop_token_create() else { fatalError("out of memory") }
        self.pointer = pointer
    }

    deinit {
        vg_stop_token_destroy(pointer)
    }

    /// Requests a stop. Safe from any thread, any number of times.
    public func stop() {
        vg_stop_token_set(pointer)
    }

    public var isStopped: Bool { vg_stop_token_is_set(pointer) != 0 }
}
