import Foundation

/// Readers of the kernel's per-process files under /proc: the one place that knows their layout.
package enum ProcFS {
    /// The fields of /proc/PID/stat (`pid` is a number or "self"), or nil when it cannot be read.
    ///
    /// The command name (field 2) may hold spaces and parentheses, so the fields are taken after
    /// its last ')'.
    package static func stat(pid: String = "self") -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        return Stat(fieldsAfterName: text[text.index(after: close)...].split(separator: " "))
    }

    /// The fields of one /proc/PID/stat, numbered as in proc(5).
    package struct Stat: Sendable {
        /// Fields 3 (state) onwards.
        let fieldsAfterName: [Substring]

        /// Field `number` as proc(5) numbers them (state is 3, utime 14, starttime 22); nil for
        /// fields 1 and 2 and past the end.
        package subscript(_ number: Int) -> Substring? {
            let index = number - 3
            return fieldsAfterName.indices.contains(index) ? fieldsAfterName[index] : nil
        }
    }

    /// The space-separated fields of /proc/PID/statm (sizes in pages; `pid` is a number or
    /// "self"), or nil when it cannot be read.
    package static func statm(pid: String = "self") -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return nil }
        return text.split(separator: " ")
    }

    /// A "Name:  N kB" line of /proc/self/status in bytes (`name` includes the colon), or nil.
    package static func statusBytes(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let number = line.dropFirst(name.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first
            return number.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }
}
