import HTTPTypes
import Hummingbird

/// Requires `Authorization: Bearer TOKEN` with one of the configured tokens on every route
/// but the health probes. Tokens are compared in constant time (every configured token, every
/// byte, whatever matches), and neither the tokens nor what a client sent are ever logged.
struct TokenAuthenticator<Context: RequestContext>: RouterMiddleware {
    let tokens: [[UInt8]]
    /// Paths served without a token: liveness and readiness carry nothing secret, and probes
    /// rarely hold tokens.
    static var openPaths: Set<String> { ["/healthz", "/readyz"] }

    init(tokens: [String]) {
        self.tokens = tokens.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !tokens.isEmpty, !Self.openPaths.contains(request.uri.path) else { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw APIError(.unauthorized, code: "missing_token", "an API token is required: Authorization: Bearer TOKEN")
        }
        let presented = Array(header.utf8.dropFirst(7))
        guard Self.matchesAny(presented, tokens) else {
            throw APIError(.unauthorized, code: "invalid_token", "the API token is not valid")
        }
        return try await next(request, context)
    }

    /// Whether `presented` equals one of `tokens`, in time that depends only on the lengths of
    /// the configured tokens and of what was presented, not on where they differ.
    static func matchesAny(_ presented: [UInt8], _ tokens: [[UInt8]]) -> Bool {
        var matched: UInt8 = 0
        for token in tokens {
            matched |= constantTimeEqual(presented, token)
        }
        return matched == 1
    }

    /// 1 if `a` and `b` are equal, else 0, looking at every byte of `b` whatever `a` holds.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> UInt8 {
        var difference = UInt64(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<b.count {
            let x = index < a.count ? a[index] : ~b[index]
            difference |= UInt64(x ^ b[index])
        }
        return difference == 0 ? 1 : 0
    }
}
