import ArgumentParser
import Foundation
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
}

/// Runs a command body, turning failures into one line on stderr and an exit code, never a trace.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let failure as Failure {
        printError("vigil: \(failure.message)")
        throw ExitCode(failure.exitCode)
    } catch let error as RegistryError {
        printError("vigil: \(error.description)")
        throw ExitCode(1)
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((Redactor.shared.redact(line) + "\n").utf8))
}
