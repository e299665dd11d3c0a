import Logging
import Synchronization

private let loggingBootstrapped = Mutex(false)

/// Sends logs to stderr (journald captures it) at `level`. Once per process: a resumed run
/// calls the transcribe command again inside the same process.
func bootstrapLogging(level: Logger.Level) {
    let first = loggingBootstrapped.withLock { done in
        defer { done = true }
        return !done
    }
    guard first else { return }
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
