import Foundation
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
        #expect(throws: SystemError.self) { try dir.writeAtomically(Data("second".utf8), as: FileName("out.txt"), replace: false) }
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
        #expect(throws: SystemError.self) { _ = try dir.openForReading(FileName("link")) }
    }

    @Test("Hidden and temporary names are not input")
    func candidates() {
        #expect(Intake.isCandidate(FileName("take.wav")))
        for name in [".hidden.wav", "take.wav.part", "x.TMP", "a.crdownload", "b.filepart", "c.wav~", ".hearingai-work"] {
            #expect(!Intake.isCandidate(FileName(name)), "\(name)")
        }
    }
}
