import Foundation
import TestSupport
import Testing

@testable import HearingIngest

#if canImport(Glibc)
import Glibc
#endif

@Suite("inotify watcher", .timeLimit(.minutes(1)))
struct InotifyWatcherTests {
    @Test("Close-after-write, rename-in and create are reported by name; stop ends the sequence")
    func events() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let inbox = root.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let watcher = try InotifyWatcher(directory: inbox.path)
        try Data("x".utf8).write(to: inbox.appendingPathComponent("written.wav"))
        try Data("y".utf8).write(to: root.appendingPathComponent("outside.wav"))
        try FileManager.default.moveItem(at: root.appendingPathComponent("outside.wav"), to: inbox.appendingPathComponent("moved in.wav"))
        try FileManager.default.createSymbolicLink(atPath: inbox.path + "/link.wav", withDestinationPath: "/etc/passwd")

        var seen = Set<FileName>()
        for await event in watcher.events {
            if case .changed(let name) = event { seen.insert(name) }
            if seen.isSuperset(of: [FileName("written.wav"), FileName("moved in.wav"), FileName("link.wav")]) { break }
        }
        watcher.stop()
        var rest = watcher.events.makeAsyncIterator()
        while await rest.next() != nil {}
        #expect(seen.contains(FileName("moved in.wav")))
    }

    @Test("stop() after the watcher's thread has ended writes nothing into the file that reused its descriptor")
    func stopAfterEnd() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let watcher = try InotifyWatcher(directory: root.path)
        watcher.stop()
        var events = watcher.events.makeAsyncIterator()
        while await events.next() != nil {}
        // The stream has ended; the thread closes its descriptors as it exits.
        try await Task.sleep(for: .milliseconds(200))

        // The lowest free numbers are the watcher's old ones: these files take them.
        let paths = (0..<4).map { root.appendingPathComponent("victim\($0)").path }
        let descriptors = paths.map { open($0, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        defer { descriptors.forEach { close($0) } }
        #expect(descriptors.allSatisfy { $0 >= 0 })

        watcher.stop()
        watcher.stop()
        for path in paths {
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            #expect(size == 0, "stop() wrote into \(path)")
        }
    }

    @Test("The directory deleted, or moved away, is reported; rewatch() follows the new directory at the path")
    func directoryReplaced() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let inbox = root.appendingPathComponent("inbox")
        for replace in [
            { try FileManager.default.removeItem(at: inbox) },
            { try FileManager.default.moveItem(at: inbox, to: root.appendingPathComponent("old-\(UUID().uuidString)")) },
        ] as [() throws -> Void] {
            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
            let watcher = try InotifyWatcher(directory: inbox.path)
            defer { watcher.stop() }
            var events = watcher.events.makeAsyncIterator()
            try replace()
            var gone = false
            while !gone, let event = await events.next() { gone = event == .directoryGone }
            #expect(gone)

            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
            try watcher.rewatch()
            try Data("x".utf8).write(to: inbox.appendingPathComponent("after.wav"))
            var seen = false
            while !seen, let event = await events.next() { seen = event == .changed(FileName("after.wav")) }
            #expect(seen, "a file written in the new directory is reported")
            try FileManager.default.removeItem(at: inbox)
        }
    }

    @Test("Event records are parsed by their length, names NUL-padded")
    func parsing() {
        func record(mask: UInt32, name: [UInt8]) -> [UInt8] {
            let padded = name + [UInt8](repeating: 0, count: 16 - name.count % 16)
            var bytes: [UInt8] = []
            for value in [UInt32(1), mask, 0, UInt32(padded.count)] { withUnsafeBytes(of: value) { bytes += $0 } }
            return bytes + padded
        }
        let buffer =
            record(mask: 0x8, name: Array("a.wav".utf8)) + record(mask: 0x4000, name: []) + record(mask: 0x80, name: [0xFF, 0x41])
            + record(mask: 0x400, name: []) + record(mask: 0x8000, name: [])
        var events: [InboxEvent] = []
        InotifyWatcher.parse(buffer, count: buffer.count) { events.append($0) }
        #expect(
            events == [.changed(FileName("a.wav")), .overflow, .changed(FileName(bytes: [0xFF, 0x41])), .directoryGone, .directoryGone])
    }
}
