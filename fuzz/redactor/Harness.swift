import Foundation
import FuzzSupport
import VigilIngest

/// The Redactor on any text. The input's first line is a secret to register (with user `admin`),
/// the rest is the text to redact. Properties: no registered form of the secret survives (secrets
/// holding the mask's `*` aside: masking may rebuild them), URL userinfo is gone.
let fuzzRedactor: Harness = { data, size in
    let input = text(bytes(data, size))
    let parts = input.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let secret = String(parts[0]), line = parts.count > 1 ? String(parts[1]) : ""
    var redactor = Redactor()
    redactor.register(secret: secret, user: "admin")
    let output = redactor.redact(line)
    // An empty secret is not registered (nothing to hide).
    if !secret.isEmpty && !secret.contains("*") {
        for form in Redactor.forms(of: secret, user: "admin") where form.count >= 3 {
            require(!literallyContains(output, form), "'\(form)' survived in \(output)")
        }
    }
    return 0
}

@main
struct RedactorHarness: FuzzHarness {
    static let harness = fuzzRedactor
}
