import Foundation
import VigilStore

/// An exclusive `flock(2)` on a file, held until released or until the process dies (even by
/// SIGKILL, which is why it is used instead of a pid file). The file holds the owner's pid.
final class FileLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock without waiting. `owner` names what holds it, for the error message.
    init(path: String, owner: String) throws(QueueError) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw QueueError(.cannotOpen, "cannot create lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw QueueError(.busy, "\(owner) is already running (pid \(holder.isEmpty ? "unknown" : holder), "
                             + "lock \(path)); stop it first")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}

