import Foundation
import PackagePlugin

/// Writes `BuildInfo.swift` (the version from the package's `VERSION` file and the git commit the
/// tree was built from) before every build of the target that uses it, so `vigil --version` names
/// both and the version lives in one place. The file is rewritten only when its content changes.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL
        let script = context.package.directoryURL.appending(path: "scripts/build-info.sh")
        return [
            .prebuildCommand(
                displayName: "Build info for \(target.name)",
                executable: URL(filePath: "/bin/sh"),
                arguments: [script.path(), context.package.directoryURL.path(), output.path()],
                outputFilesDirectory: output
            )
        ]
    }
}
