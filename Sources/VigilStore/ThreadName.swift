import Foundation

/// Names the calling thread as the kernel sees it (`/proc/PID/task/*/comm`, `top -H`, `perf`), so an
/// operator can tell a camera's thread from the queue writer. `Thread.name` does not reach the kernel
/// on Linux and `pthread_setname_np` is not visible to Swift there; this writes the name to
/// `/proc/thread-self/comm`, which is what that function does. The kernel keeps 15 bytes: a longer
/// name is cut there, on a character boundary. Where /proc is missing the thread keeps its name.
public enum ThreadName {
    /// The kernel's limit on a thread name, in bytes (without the terminating zero).
    public static let maxBytes = 15

    /// Sets the calling thread's name. Call it from the thread itself, first thing.
    public static func setCurrent(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array(truncated(name).utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// `name` cut to at most ``maxBytes`` UTF-8 bytes without splitting a character.
    public static func truncated(_ name: String) -> String {
        var bytes = 0
        var end = name.startIndex
        for character in name {
            bytes += character.utf8.count
            if bytes > maxBytes { break }
            end = name.index(after: end)
        }
        return String(name[..<end])
    }
}
