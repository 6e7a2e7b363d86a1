import ArgumentParser
import Foundation
import VigilDetector
import VigilIngest
import VigilStore

/// A failure the user can act on: printed as one `vigil: ...` line on stderr, then exit non-zero.
struct Failure: Error {
    let message: String
    var exitCode: Int32 = 1

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    /// Prints the line and gives the exit to throw.
    func report() -> ExitCode {
        printError("vigil: \(message)")
        return ExitCode(exitCode)
    }
}

/// Runs a command body, turning failures into one line on stderr and an exit code, never a trace.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let failure as Failure {
        throw failure.report()
    } catch let error as RegistryError {
        throw Failure(error.description).report()
    }
}

/// The same for commands that run async code.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as Failure {
        throw failure.report()
    } catch let error as RegistryError {
        throw Failure(error.description).report()
    }
}

/// For `validate()`: a flag's value outside `range` is one line naming the flag, the value and the
/// range (not ArgumentParser's usage block), then exit 1.
func checkRange(_ flag: String, _ value: Double, _ range: ClosedRange<Double>, unit: String = "") throws {
    if let problem = Bounds.problem(flag, value, range, unit: unit) { throw Failure(problem).report() }
}

/// The same for a whole number.
func checkRange(_ flag: String, _ value: Int, _ range: ClosedRange<Int>, unit: String = "") throws {
    if let problem = Bounds.problem(flag, value, range, unit: unit) { throw Failure(problem).report() }
}

/// Prints one line on stderr, redacted, with any control character escaped so it stays one line.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((TextFile.escaped(Redactor.shared.redact(line)) + "\n").utf8))
}
