import Foundation
import HearingIngest
import Hummingbird

/// A `multipart/form-data` request body, read as it arrives (``MultipartStream``): the part named `file` streams
/// into an ``HearingIngest/Upload`` (never whole in memory), the other parts are small text
/// fields.
struct MultipartUpload {
    /// The text fields by name (a name may repeat, as `timestamp_granularities[]` does).
    var fields: [String: [String]]
    /// The file, complete and written, not yet queued.
    var upload: Upload
    /// The file name the client gave, if any (only ever a label; see ``Uploads/jobName(from:)``).
    var fileName: String?

    /// The first value of the field `name`, if present and not empty.
    func field(_ name: String) -> String? {
        fields[name]?.first.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The largest text field accepted.
    static let maxFieldBytes = 64 * 1024

    /// Reads `request`'s body (or `body`, when the caller has wrapped it) into an upload of
    /// at most `maxBytes`. Throws an ``APIError``: 400 for a body that is not multipart or has
    /// no complete `file` part, 413 past the cap. Whatever was written is removed on failure.
    static func receive(
        _ request: Request, body: RequestBody? = nil, uploads: Uploads, maxBytes: Int64
    ) async throws -> MultipartUpload {
        guard let contentType = request.headers[.contentType], let boundary = Self.boundary(of: contentType) else {
            throw APIError.badRequest("invalid_multipart", "expected a multipart/form-data body with a boundary")
        }
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }), length > maxBytes + 1_048_576 {
            throw APIError(.contentTooLarge, code: "file_too_large", "the upload is larger than the \(maxBytes / 1_048_576) MB limit")
        }
        let upload = try await uploads.begin(maxBytes: maxBytes)
        do {
            let (fields, fileName) = try await read(body ?? request.body, boundary: boundary, into: upload)
            return MultipartUpload(fields: fields, upload: upload, fileName: fileName)
        } catch {
            await upload.abandon()
            if let tooLarge = error as? UploadTooLarge {
                throw APIError(.contentTooLarge, code: "file_too_large", tooLarge.description)
            }
            throw error
        }
    }

    private static func read(_ body: RequestBody, boundary: String, into upload: Upload) async throws -> ([String: [String]], String?) {
        var parser = MultipartStream(boundary: boundary)
        var fields: [String: [String]] = [:]
        var fileName: String?
        var fileParts = 0
        var fileComplete = false
        // The part being read: its form name and whether it is the file.
        var current: (name: String?, isFile: Bool) = (nil, false)
        var field: [UInt8] = []
        for try await buffer in body {
            var fileBytes: [UInt8] = []
            do {
                try buffer.withUnsafeReadableBytes { raw in
                    try parser.feed(raw) { event in
                        switch event {
                        case .partStart(let headers):
                            let disposition = Self.parameters(of: headers["content-disposition"] ?? "")
                            current = (disposition["name"], disposition["name"] == "file")
                            field = []
                            if current.isFile {
                                fileParts += 1
                                guard fileParts == 1 else { throw APIError.badRequest("invalid_multipart", "more than one file part") }
                                fileName = disposition["filename*"].flatMap(Self.decodeExtended) ?? disposition["filename"]
                            }
                        case .body(let bytes):
                            if current.isFile {
                                fileBytes.append(contentsOf: bytes)
                            } else {
                                guard field.count + bytes.count <= maxFieldBytes else {
                                    throw APIError.badRequest("invalid_multipart", "a form field is larger than \(maxFieldBytes / 1024) KB")
                                }
                                field.append(contentsOf: bytes)
                            }
                        case .partEnd:
                            if current.isFile {
                                fileComplete = true
                            } else if let name = current.name {
                                fields[name, default: []].append(String(decoding: field, as: UTF8.self))
                            }
                            current = (nil, false)
                        }
                    }
                }
            } catch let error as MultipartStream.SyntaxError {
                throw APIError.badRequest("invalid_multipart", "the multipart body is malformed: \(error.description)")
            }
            if !fileBytes.isEmpty { try await upload.write(fileBytes) }
        }
        guard fileParts == 1 else { throw APIError.badRequest("missing_file", "the form has no part named 'file'") }
        guard fileComplete, parser.isFinished else {
            throw APIError.badRequest("invalid_multipart", "the multipart body ended before its closing boundary")
        }
        return (fields, fileName)
    }

    /// The `boundary` parameter of a `multipart/form-data` content type.
    static func boundary(of contentType: String) -> String? {
        let pieces = contentType.split(separator: ";", maxSplits: 1)
        guard pieces.first?.trimmingCharacters(in: .whitespaces).lowercased() == "multipart/form-data", pieces.count == 2 else {
            return nil
        }
        guard let boundary = parameters(of: "x;" + pieces[1])["boundary"], !boundary.isEmpty, boundary.utf8.count <= 200 else {
            return nil
        }
        return boundary
    }

    /// `key=value` parameters after the first `;` of a header value, keys lower-cased, quotes
    /// and backslash escapes removed.
    static func parameters(of value: String) -> [String: String] {
        var result: [String: String] = [:]
        var scalars = Substring(value)
        // Skip the leading token (form-data, multipart/form-data).
        guard let semicolon = scalars.firstIndex(of: ";") else { return result }
        scalars = scalars[scalars.index(after: semicolon)...]
        while !scalars.isEmpty {
            scalars = scalars.drop(while: { $0 == " " || $0 == "\t" || $0 == ";" })
            guard let equals = scalars.firstIndex(of: "=") else { break }
            let key = scalars[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            scalars = scalars[scalars.index(after: equals)...]
            var parsed = ""
            if scalars.first == "\"" {
                scalars = scalars.dropFirst()
                var escaped = false
                while let character = scalars.first {
                    scalars = scalars.dropFirst()
                    if escaped {
                        parsed.append(character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        parsed.append(character)
                    }
                }
                scalars = scalars.drop(while: { $0 != ";" })
            } else {
                let end = scalars.firstIndex(of: ";") ?? scalars.endIndex
                parsed = scalars[..<end].trimmingCharacters(in: .whitespaces)
                scalars = scalars[end...]
            }
            result[key] = parsed
        }
        return result
    }

    /// An RFC 5987 `UTF-8''percent-encoded` value.
    static func decodeExtended(_ value: String) -> String? {
        guard let quote = value.range(of: "''") else { return nil }
        return value[quote.upperBound...].removingPercentEncoding
    }
}
