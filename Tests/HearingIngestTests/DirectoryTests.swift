import Foundation
import HearingAI
import TestSupport
import Testing

@testable import HearingIngest

@Suite("Directory and file names")
struct DirectoryTests {
    @Test("Names are bytes: invalid UTF-8 and newlines survive listing, moving and writing")
    func byteExactNames() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try Directory(path: root.path + "/a", create: true)
        let b = try Directory(path: root.path + "/b", create: true)
        let odd = FileName(bytes: Array("bad".utf8) + [0xFF, 0x0A] + Array(" name.wav".utf8))
        try a.writeAtomically(Data("x".utf8), as: odd, replace: false)
        #expect(try a.names() == [odd])
        try a.move(odd, to: b, as: odd)
        #expect(try b.names() == [odd])
        #expect(try b.status(of: odd)?.size == 1)
        #expect(odd.stem.bytes == Array("bad".utf8) + [0xFF, 0x0A] + Array(" name".utf8))
        #expect(odd.description == "bad\u{FFFD}\\n name.wav")
    }

    @Test("moveKeepingName never overwrites: it picks stem (1).ext, stem (2).ext")
    func distinctNames() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try Directory(path: root.path + "/a", create: true)
        let b = try Directory(path: root.path + "/b", create: true)
        let name = FileName("take.wav")
        for content in ["one", "two", "three"] {
            try a.writeAtomically(Data(content.utf8), as: name, replace: false)
            try a.moveKeepingName(name, to: b)
        }
        #expect(Set(try b.names()) == [FileName("take.wav"), FileName("take (1).wav"), FileName("take (2).wav")])
        #expect(try String(contentsOfFile: root.path + "/b/take (2).wav", encoding: .utf8) == "three")
        #expect(Directory.variant(of: FileName("README"), number: 3) == FileName("README (3)"))
    }

    @Test("writeAtomically refuses to replace unless asked, and leaves no temporary file")
    func atomicWrite() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = try Directory(path: root.path)
        try dir.writeAtomically(Data("first".utf8), as: FileName("out.txt"), replace: false)
        #expect(throws: HearingAIError.self) { try dir.writeAtomically(Data("second".utf8), as: FileName("out.txt"), replace: false) }
        try dir.writeAtomically(Data("third".utf8), as: FileName("out.txt"), replace: true)
        #expect(try dir.names() == [FileName("out.txt")])
        #expect(try String(contentsOfFile: root.path + "/out.txt", encoding: .utf8) == "third")
    }

    @Test("status does not follow symlinks and reports link counts")
    func status() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = try Directory(path: root.path)
        try Data("abc".utf8).write(to: root.appendingPathComponent("file"))
        try FileManager.default.createSymbolicLink(atPath: root.path + "/link", withDestinationPath: "file")
        try FileManager.default.linkItem(atPath: root.path + "/file", toPath: root.path + "/hard")
        #expect(try dir.status(of: FileName("link"))?.kind == .symlink)
        #expect(try dir.status(of: FileName("file"))?.linkCount == 2)
        #expect(try dir.status(of: FileName("missing")) == nil)
        #expect(throws: HearingAIError.self) { _ = try dir.openForReading(FileName("link")) }
    }

    @Test("Hidden and temporary names are not input")
    func candidates() {
        #expect(Intake.isCandidate(FileName("take.wav")))
        for name in [".hidden.wav", "take.wav.part", "x.TMP", "a.crdownload", "b.filepart", "c.wav~", ".hearingai-work"] {
            #expect(!Intake.isCandidate(FileName(name)), "\(name)")
        }
    }
}

@Suite("Long names")
struct LongNameTests {
    @Test("Truncation never splits a UTF-8 sequence")
    func truncation() {
        let name = FileName("ab\u{00E9}\u{20AC}")  // a b é(2 bytes) €(3 bytes) = 7 bytes
        #expect(name.truncated(to: 7) == name)
        #expect(name.truncated(to: 6) == FileName("ab\u{00E9}"))
        #expect(name.truncated(to: 5) == FileName("ab\u{00E9}"))
        #expect(name.truncated(to: 3) == FileName("ab"))
        #expect(FileName(bytes: [0x61, 0xFF, 0xFE]).truncated(to: 2) == FileName(bytes: [0x61, 0xFF]))
    }

    @Test("Variants fit in NAME_MAX with room for a companion suffix")
    func variantsFit() throws {
        let long = FileName(String(repeating: "g", count: 251) + ".wav")
        #expect(Directory.variant(of: long, number: 0) == long)
        let errorFile = Intake.errorFileName(for: long)
        #expect(errorFile.bytes.count == 255)
        #expect(errorFile.hasSuffix(".error.json"))
        let numbered = Directory.variant(of: long, number: 12, reserving: 5)
        #expect(numbered.bytes.count + 5 <= 255)
        #expect(numbered.hasSuffix(" (12).wav"))

        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try Directory(path: root.path + "/a", create: true)
        let b = try Directory(path: root.path + "/b", create: true)
        try a.writeAtomically(Data("x".utf8), as: long, replace: false)
        let moved = try a.moveKeepingName(long, to: b, companion: Intake.errorFileName)
        #expect(moved == long)
        try b.writeAtomically(Data("{}".utf8), as: Intake.errorFileName(for: moved), replace: false)
        #expect(try b.names().count == 2)
    }

    @Test("A name is free only if its companion is free too")
    func companionCollision() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try Directory(path: root.path + "/a", create: true)
        let b = try Directory(path: root.path + "/b", create: true)
        try b.writeAtomically(Data("someone else's".utf8), as: FileName("y.wav.error.json"), replace: false)
        try a.writeAtomically(Data("x".utf8), as: FileName("y.wav"), replace: false)
        #expect(try a.moveKeepingName(FileName("y.wav"), to: b, companion: Intake.errorFileName) == FileName("y (1).wav"))
    }

    @Test("mkdir -p reports the cause when a parent is a file")
    func makeDirectoriesUnderAFile() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try Data().write(to: root.appendingPathComponent("plain"))
        do {
            _ = try Directory(path: root.path + "/plain/outbox", create: true)
            Issue.record("created a directory under a file")
        } catch let error as HearingAIError {
            #expect(error.description.contains("Not a directory"), "\(error)")
        }
    }
}

@Suite("Service directories")
struct ServiceDirectoryTests {
    @Test("The four directories must be different and outside the inbox")
    func separate() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        func dir(_ name: String) throws -> Directory { try Directory(path: root.path + "/" + name, create: true) }
        #expect(throws: Never.self) {
            try IngestDirectories.checkSeparate([
                ("inbox", try dir("in")), ("outbox", try dir("out")), ("processed", try dir("done")), ("failed", try dir("failed")),
            ])
        }
        #expect(throws: HearingAIError.self) {
            try IngestDirectories.checkSeparate([
                ("inbox", try dir("in")), ("outbox", try dir("in")), ("processed", try dir("done")), ("failed", try dir("failed")),
            ])
        }
        #expect(throws: HearingAIError.self) {
            try IngestDirectories.checkSeparate([
                ("inbox", try dir("in")), ("outbox", try dir("in/out")), ("processed", try dir("done")), ("failed", try dir("failed")),
            ])
        }
    }
}
