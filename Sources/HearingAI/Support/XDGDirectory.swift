package import Foundation

/// The XDG base directories hearingai keeps its files under.
package enum XDGDirectory: Sendable {
    /// `$XDG_CACHE_HOME`, else `$HOME/.cache`.
    case cache
    /// `$XDG_DATA_HOME`, else `$HOME/.local/share`.
    case data

    /// `component` inside this base directory, or nil when `environment` names none: the
    /// variables count only as absolute paths, and a HOME of `/nonexistent` (a system user's)
    /// not at all.
    package func path(appending component: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let (variable, underHome) =
            switch self {
            case .cache: ("XDG_CACHE_HOME", ".cache")
            case .data: ("XDG_DATA_HOME", ".local/share")
            }
        if let xdg = environment[variable], xdg.hasPrefix("/") { return xdg + "/" + component }
        if let home = environment["HOME"], home.hasPrefix("/"), home != "/nonexistent" {
            return home + "/" + underHome + "/" + component
        }
        return nil
    }
}
