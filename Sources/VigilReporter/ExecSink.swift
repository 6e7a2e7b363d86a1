import Foundation
import Synchronization
import VigilStore

/// The exec sink's settings: ``HookConfiguration/target`` is a shell command line (`/bin/sh -c`).
public typealias ExecConfiguration = HookConfiguration<String>

/// Runs the configured command once per alert, Motion-style: the alert's JSON and a newline on
/// stdin, and `VIGIL_ALERT_ID`, `VIGIL_ALERT_KIND`, `VIGIL_ALERT_CAMERA` in its environment. Exit
/// status 0 delivers the alert. The command's output goes to the reporter's stderr.
struct ExecSink: HookSink {
    let name = "exec"
    let configuration: ExecConfiguration

    init(configuration: ExecConfiguration) {
        self.configuration = configuration
        // A command that exits without reading stdin must not kill the reporter.
        signal(SIGPIPE, SIG_IGN)
    }

    func deliver(_ alerts: [QueuedAlert]) async throws(DeliveryError) {
        for alert in alerts { try await run(for: alert) }
    }

    private func run(for alert: QueuedAlert) async throws(DeliveryError) {
        let environment = ProcessInfo.processInfo.environment.merging(
            ["VIGIL_ALERT_ID": alert.id, "VIGIL_ALERT_KIND": alert.kind.rawValue, "VIGIL_ALERT_CAMERA": alert.camera]
        ) { $1 }
        let (command, input, timeout) = (configuration.target, Array((alert.line + "\n").utf8), configuration.timeout)
        // Started, fed and waited for on a thread of its own: posix_spawn, the pipe write and the
        // wait all block. A stop kills the command's group as soon as it has one.
        let started = Mutex<(child: ChildProcess?, cancelled: Bool)>((nil, false))
        let result: Result<(status: Int32, timedOut: Bool), DeliveryError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                Thread {
                    ThreadName.setCurrent("vigil-exec-wait")
                    let spawned = Result { () throws(DeliveryError) in
                        try ChildProcess(shellCommand: command, environment: environment)
                    }
                    guard case .success(let child) = spawned else {
                        return continuation.resume(returning: spawned.map { _ in (0, false) })
                    }
                    if started.withLock({ state in state.child = child; return state.cancelled }) { child.terminate() }
                    child.send(input)
                    continuation.resume(returning: .success(child.wait(timeout: timeout)))
                }.start()
            }
        } onCancel: {
            started.withLock { state in
                state.cancelled = true
                return state.child
            }?.terminate()
        }
        let ended = try result.get()
        if ended.timedOut { throw DeliveryError(.timedOut, "killed after the \(timeout) s timeout") }
        // The wait status: the low 7 bits are the signal that ended the command, else 0 and the exit code above.
        let signal = ended.status & 0x7F
        if signal != 0 { throw DeliveryError(.commandFailed, "killed by signal \(signal)") }
        let code = (ended.status >> 8) & 0xFF
        guard code == 0 else { throw DeliveryError(.commandFailed, "exited with status \(code)") }
    }
}

/// `/bin/sh -c COMMAND` in a process group of its own, so that a timeout kills everything the
/// command started; its stdout and stderr go to ours. (Foundation's `Process` cannot signal a
/// group, and waits for grandchildren that keep its pipes open.)
private struct ChildProcess: Sendable {
    let pid: pid_t

    init(shellCommand: String, environment: [String: String]) throws(DeliveryError) {
        var input: [Int32] = [0, 0]
        guard pipe(&input) == 0 else { throw DeliveryError(.cannotRun, "cannot create a pipe: \(String(cString: strerror(errno)))") }
        defer { close(input[0]) }
        _ = fcntl(input[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The daemon's threads block most signals and ignore SIGPIPE (and SIGHUP, SIGTERM... with
        // signal sources): the command starts with no signal blocked and every disposition default.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        // Every bit set, not sigfillset: that leaves out glibc's two internal signals, which
        // posix_spawn then hands to the command ignored.
        _ = withUnsafeMutableBytes(of: &signals) { $0.initializeMemory(as: UInt8.self, repeating: 0xFF) }
        posix_spawnattr_setsigdefault(&attributes, &signals)
        let strings = ["/bin/sh", "-c", shellCommand]
        let arguments: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
        let variables: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (arguments + variables).forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, arguments, variables)
        guard result == 0 else {
            close(input[1])
            throw DeliveryError(.cannotRun, "cannot run /bin/sh: \(String(cString: strerror(result)))")
        }
        self.pid = pid
        stdin = input[1]
    }

    private let stdin: Int32

    /// Writes the command's whole stdin and closes it; a command that does not read it is fine.
    func send(_ bytes: [UInt8]) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBufferPointer { write(stdin, $0.baseAddress! + written, $0.count - written) }
            if result < 0, errno == EINTR { continue }
            if result <= 0 { break }
            written += result
        }
        close(stdin)
    }

    /// Ends the command's whole group now (the reporter is stopping).
    func terminate() {
        kill(-pid, SIGKILL)
    }

    /// Blocks until the command ends: its wait status, and whether its timeout fired first (then
    /// the group got SIGTERM, and SIGKILL two seconds later or as soon as the shell itself ended, so
    /// that nothing it started in the background outlives the attempt).
    func wait(timeout: TimeInterval) -> (status: Int32, timedOut: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var signalled: Int32 = 0
        while true {
            // WNOWAIT leaves the shell a zombie, so its pid (the group's id) cannot be reused before
            // the group is killed.
            var info = siginfo_t()
            let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if result < 0, errno != EINTR { return (0, signalled != 0) }
            if result == 0, info._sifields._sigchld.si_pid == pid {
                if signalled != 0 { kill(-pid, SIGKILL) }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                return (status, signalled != 0)
            }
            if signalled == 0, Date() >= deadline {
                signalled = SIGTERM
                kill(-pid, SIGTERM)
            } else if signalled == SIGTERM, Date() >= deadline.addingTimeInterval(2) {
                signalled = SIGKILL
                kill(-pid, SIGKILL)
            }
            usleep(10_000)
        }
    }
}
