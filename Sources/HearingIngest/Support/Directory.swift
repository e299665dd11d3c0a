public import Foundation
import HearingAI

#if canImport(Glibc)
import Glibc
#endif

/// What `fstatat` says about a directory entry, without following symbolic links.
public struct EntryStatus: Sendable, Equatable {
    /// The kind of entry.
    public enum Kind: String, Sendable {
        case regular, directory, symlink, fifo, characterDevice, blockDevice, socket, unknown
    }
    /// The kind of entry.
    public var kind: Kind
    /// Size in bytes.
    public var size: Int64
    /// Modification time in nanoseconds since the epoch.
    public var mtimeNanoseconds: Int64
    /// Status-change time in nanoseconds since the epoch: moves on a write even when a
    /// writer restores the mtime.
    public var ctimeNanoseconds: Int64
    /// Hard links to the inode.
    public var linkCount: Int
    /// Device and inode: what the entry is, whatever its name.
    public var device: UInt64
    /// The inode number.
    public var inode: UInt64

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFIFO: kind = .fifo
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        case S_IFSOCK: kind = .socket
        default: kind = .unknown
        }
        size = Int64(st.st_size)
        mtimeNanoseconds = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        ctimeNanoseconds = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        linkCount = Int(st.st_nlink)
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

/// An open directory, addressed by descriptor so that every operation on its entries is
/// relative to it (`openat`, `fstatat`, `renameat2`) and names are handled as bytes.
///
/// The descriptor is opened with `O_CLOEXEC` and closed exactly once, by `close()` or deinit.
public final class Directory: @unchecked Sendable {
    // @unchecked: `fd` is immutable after init; the kernel serialises operations on it.
    /// The directory's path, as given.
    public let path: String
    let fd: Int32

    /// Opens `path`, creating it (and its parents) with `mode` if it is missing.
    public init(path: String, create: Bool = false, mode: UInt32 = 0o755) throws {
        self.path = path
        if create { try Self.makeDirectories(path, mode: mode) }
        let fd = retryingEINTR { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw HearingAIError.system("open", path: path, errno: errno) }
        self.fd = fd
    }

    /// Takes ownership of `fd`, an open directory.
    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    /// The device of the filesystem the directory is on: directories with the same one can
    /// rename between them; others copy (``copyOut(_:to:as:)``).
    public var device: UInt64? {
        var st = stat()
        return fstat(fd, &st) == 0 ? UInt64(st.st_dev) : nil
    }

    /// Where the directory is now, which may not be the path it was opened by (it was moved;
    /// " (deleted)" at the end if it was removed), from `/proc/self/fd`; nil if unknown.
    public var currentPath: String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Throws unless the process may create and remove entries here.
    public func checkWritable() throws {
        guard faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) == 0 else {
            throw HearingAIError.system("write access check", path: path, errno: errno)
        }
    }

    /// Every entry's name except `.` and `..`, byte-exact.
    public func names() throws -> [FileName] {
        let dupFD = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard dupFD >= 0, let stream = fdopendir(dupFD) else {
            throw HearingAIError.system("opendir", path: path, errno: errno)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [FileName] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [46] || name == [46, 46] { continue }
            names.append(FileName(bytes: name))
        }
        return names
    }

    /// The entry `name`, not following a symlink; nil if it does not exist.
    public func status(of name: FileName) throws -> EntryStatus? {
        var st = stat()
        let result = name.withCString { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }
        if result != 0 {
            if errno == ENOENT { return nil }
            throw HearingAIError.system("stat", path: "\(path)/\(name)", errno: errno)
        }
        return EntryStatus(st)
    }

    /// Opens `name` for reading without following a symlink and without blocking on a FIFO.
    public func openForReading(_ name: FileName) throws -> Int32 {
        let fd = name.withCString { cname in retryingEINTR { openat(self.fd, cname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) } }
        guard fd >= 0 else { throw HearingAIError.system("open", path: "\(path)/\(name)", errno: errno) }
        return fd
    }

    /// Whether `name` exists (as anything, a dangling symlink included).
    public func contains(_ name: FileName) -> Bool {
        (try? status(of: name)) != nil
    }

    /// Moves `name` to `target` in `destination`, never replacing an entry there
    /// (`renameat2(RENAME_NOREPLACE)`). Throws `EEXIST` if `target` exists. Across filesystems
    /// (`EXDEV`) a regular file is copied instead (see ``copyOut(_:to:as:)``) through
    /// `staging`, by default a hidden name made from the file's device and inode.
    public func move(_ name: FileName, to destination: Directory, as target: FileName, staging: FileName? = nil) throws {
        do {
            try rename(name, to: destination, as: target)
        } catch let error as HearingAIError where error.errno == EXDEV {
            if destination.contains(target) { throw HearingAIError.system("rename", path: "\(path)/\(name)", errno: EEXIST) }
            let staging = try staging ?? stagingName(for: name)
            try copyOut(name, to: destination, as: staging)
            try destination.rename(staging, to: destination, as: target)
            destination.sync()
        }
    }

    /// `renameat2(RENAME_NOREPLACE)` alone: `EXDEV` across filesystems.
    private func rename(_ name: FileName, to destination: Directory, as target: FileName) throws {
        let result = name.withCString { from in
            target.withCString { to in
                SystemCalls.renameNoReplace(fd, from, destination.fd, to)
            }
        }
        guard result == 0 else { throw HearingAIError.system("rename", path: "\(path)/\(name)", errno: errno) }
    }

    /// The default staging name of a move across filesystems: the same file gives the same
    /// name, so a move retried after a crash overwrites its own half copy.
    private func stagingName(for name: FileName) throws -> FileName {
        guard let status = try status(of: name) else { throw HearingAIError.system("stat", path: "\(path)/\(name)", errno: ENOENT) }
        return FileName(".hearingai-move-\(status.device)-\(status.inode)")
    }

    /// The first half of a move across filesystems: copies the regular file `name` to
    /// `staging` in `destination` (replacing a half copy an interrupted move left), keeping
    /// its mode and times, fsyncs the copy and `destination`, and only then unlinks `name` and
    /// fsyncs this directory. The caller renames `staging` into place. A crash before the
    /// unlink leaves the original (the move starts again); after it, the complete copy under
    /// `staging`, which the caller's recovery renames.
    public func copyOut(_ name: FileName, to destination: Directory, as staging: FileName) throws {
        let source = try openForReading(name)
        defer { Glibc.close(source) }
        var st = stat()
        guard fstat(source, &st) == 0 else { throw HearingAIError.system("fstat", path: "\(path)/\(name)", errno: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            // Only a regular file can be copied; a link or special file stays where it is.
            throw HearingAIError.system("rename", path: "\(path)/\(name)", errno: EXDEV)
        }
        let stagingPath = "\(destination.path)/\(staging)"
        destination.remove(staging, directory: false)
        let copy = staging.withCString { cname in
            retryingEINTR { openat(destination.fd, cname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        }
        guard copy >= 0 else { throw HearingAIError.system("create", path: stagingPath, errno: errno) }
        var complete = false
        defer {
            if !complete { destination.remove(staging, directory: false) }
        }
        do {
            defer { Glibc.close(copy) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(source, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    throw HearingAIError.system("read", path: "\(path)/\(name)", errno: errno)
                }
                if n == 0 { break }
                var offset = 0
                while offset < n {
                    let written = buffer.withUnsafeBytes { Glibc.write(copy, $0.baseAddress! + offset, n - offset) }
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw HearingAIError.system("write", path: stagingPath, errno: errno)
                    }
                    offset += written
                }
            }
            _ = fchmod(copy, st.st_mode & 0o7777)
            var times = [st.st_atim, st.st_mtim]
            _ = futimens(copy, &times)
            guard fsync(copy) == 0 else { throw HearingAIError.system("fsync", path: stagingPath, errno: errno) }
        }
        destination.sync()
        complete = true
        let unlinked = name.withCString { unlinkat(fd, $0, 0) }
        guard unlinked == 0 else { throw HearingAIError.system("unlink", path: "\(path)/\(name)", errno: errno) }
        sync()
    }

    /// `mkdir -p`, reporting the cause of a failure (not a directory, permission, ...).
    static func makeDirectories(_ path: String, mode: UInt32) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode_t(mode)) != 0 {
                let code = errno
                var st = stat()
                if code == EEXIST, stat(current, &st) == 0 {
                    guard st.st_mode & S_IFMT == S_IFDIR else { throw HearingAIError.system("mkdir", path: path, errno: ENOTDIR) }
                    continue
                }
                throw HearingAIError.system("mkdir", path: path, errno: code)
            }
        }
    }

    /// Moves `name` into `destination` under the first free name of `preferred` (by default
    /// `name` itself), `stem (1).ext`, `stem (2).ext`, ... Returns the name used. Nothing is
    /// ever overwritten. With `companion`, a name is free only if `companion(name)` is free
    /// too (room for the error file that will go beside it). Across filesystems the file is
    /// copied to `staging` in `destination` first (``copyOut(_:to:as:)``) and that is renamed.
    @discardableResult
    public func moveKeepingName(
        _ name: FileName, to destination: Directory, preferred: FileName? = nil, companion: ((FileName) -> FileName)? = nil,
        staging: FileName? = nil
    ) throws -> FileName {
        for attempt in 0..<10_000 {
            let target = Self.variant(of: preferred ?? name, number: attempt)
            if let companion, destination.contains(companion(target)) { continue }
            do {
                try rename(name, to: destination, as: target)
                destination.sync()
                return target
            } catch let error as HearingAIError where error.errno == EEXIST {
                continue
            } catch let error as HearingAIError where error.errno == EXDEV {
                let staging = try staging ?? stagingName(for: name)
                try copyOut(name, to: destination, as: staging)
                return try destination.moveKeepingName(staging, to: destination, preferred: preferred ?? name, companion: companion)
            }
        }
        throw HearingAIError.system("rename (no free name)", path: "\(path)/\(name)", errno: EEXIST)
    }

    /// `name` for 0, else `stem (n).ext` (or `name (n)` without an extension), with the stem
    /// shortened where needed so that the result plus `reserving` bytes fits in NAME_MAX.
    public static func variant(of name: FileName, number: Int, reserving: Int = 0) -> FileName {
        let room = FileName.maximumLength - reserving
        if number == 0, name.bytes.count <= room { return name }
        let stem = name.stem
        var ext = Array(name.bytes.dropFirst(stem.bytes.count))
        if ext.count > 16 { ext = [] }  // not a real extension: keep the room for the name
        let tag = number > 0 ? Array(" (\(number))".utf8) : []
        let kept = stem.truncated(to: room - tag.count - ext.count)
        return FileName(bytes: kept.bytes + tag + ext)
    }

    /// Creates the subdirectory `name` (mode 0700 unless told otherwise) if it is missing, and
    /// opens it.
    public func makeSubdirectory(_ name: FileName, mode: UInt32 = 0o700) throws -> Directory {
        let result = name.withCString { mkdirat(fd, $0, mode_t(mode)) }
        guard result == 0 || errno == EEXIST else { throw HearingAIError.system("mkdir", path: "\(path)/\(name)", errno: errno) }
        return try subdirectory(name)
    }

    /// Opens the subdirectory `name` through this directory's descriptor, whatever has become
    /// of the path this one was opened by (it may have been moved). Symbolic links are not
    /// followed.
    public func subdirectory(_ name: FileName) throws -> Directory {
        let fd = name.withCString { cname in retryingEINTR { openat(self.fd, cname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } }
        guard fd >= 0 else { throw HearingAIError.system("open", path: "\(path)/\(name)", errno: errno) }
        return Directory(path: "\(path)/\(name)", fd: fd)
    }

    /// Creates the regular file `name` (never an existing one, never through a link) with
    /// `mode`, open for writing; the caller owns the descriptor.
    public func createFile(_ name: FileName, mode: UInt32 = 0o600) throws -> Int32 {
        let fd = name.withCString { cname in
            retryingEINTR { openat(self.fd, cname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode)) }
        }
        guard fd >= 0 else { throw HearingAIError.system("create", path: "\(path)/\(name)", errno: errno) }
        return fd
    }

    /// Removes the empty subdirectory or file `name`; ignores a missing one.
    public func remove(_ name: FileName, directory: Bool) {
        _ = name.withCString { unlinkat(fd, $0, directory ? AT_REMOVEDIR : 0) }
    }

    /// Flushes the directory's entries to disk.
    public func sync() {
        _ = fsync(fd)
    }

    /// Writes `data` as `name` atomically: a temporary entry, fsync, rename, fsync of the
    /// directory. Replaces an existing `name` only when `replace` is set.
    public func writeAtomically(_ data: Data, as name: FileName, replace: Bool) throws {
        let temporary = FileName(".\(UInt64.random(in: 0...UInt64.max)).tmp")
        do {
            try temporary.withCString { from in
                try name.withCString { to in
                    try AtomicFile.write(data, into: fd, as: to, temporary: from, permissions: 0o644, replace: replace)
                }
            }
        } catch let failure as AtomicFile.Failure {
            throw HearingAIError.system(failure.step.rawValue, path: "\(path)/\(name)", errno: failure.errno)
        }
    }

    /// Writes a set of files all or nothing: every one under a temporary name first (written
    /// and fsynced), then, only when all are written, each renamed to its name and the
    /// directory fsynced. On a failure before the renames every temporary entry is removed and
    /// no name of the set appears, so a full disk never leaves half a set. Replaces existing
    /// names only when `replace` is set.
    public func writeAll(_ files: [(name: FileName, data: Data)], replace: Bool) throws {
        let batch = UInt64.random(in: 0...UInt64.max)
        let temporaries = files.indices.map { FileName(".\(batch)-\($0).tmp") }
        var written: [FileName] = []
        defer {
            for temporary in written { remove(temporary, directory: false) }
        }
        for (index, file) in files.enumerated() {
            do {
                try temporaries[index].withCString { try AtomicFile.writeTemporary(file.data, into: fd, temporary: $0, permissions: 0o644) }
            } catch let failure as AtomicFile.Failure {
                throw HearingAIError.system(failure.step.rawValue, path: "\(path)/\(file.name)", errno: failure.errno)
            }
            written.append(temporaries[index])
        }
        for (index, file) in files.enumerated() {
            let result = temporaries[index].withCString { from in
                file.name.withCString { to in
                    replace ? renameat(fd, from, fd, to) : SystemCalls.renameNoReplace(fd, from, fd, to)
                }
            }
            guard result == 0 else { throw HearingAIError.system("rename", path: "\(path)/\(file.name)", errno: errno) }
            written.removeFirst()
        }
        sync()
    }
}

/// Retries a system call interrupted by a signal.
@inline(__always)
func retryingEINTR(_ call: () -> Int32) -> Int32 {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
